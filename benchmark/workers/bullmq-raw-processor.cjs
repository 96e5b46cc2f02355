// The raw BullMQ contender's task as a sandboxed processor (BullMQ runs it on a worker thread of
// its own, `useWorkerThreads`): the reference for D3 where, as here, tasks run off the host's
// event loop.
module.exports = async (job) => job.data.x * 2;
