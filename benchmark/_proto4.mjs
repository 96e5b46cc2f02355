import { FixedClusterPool } from 'poolifier';
const p = new FixedClusterPool(2, '/tmp/pc.mjs', { errorHandler: (e) => console.error('err', e), onlineHandler: () => console.error('online') , exitHandler: (c)=>console.error('exit', c)});
p.emitter?.on('error', (e) => console.error('pool error', e));
console.error('created', p.info?.ready, p.info?.started);
setTimeout(() => console.error('info', JSON.stringify(p.info)), 2000);
console.log(await p.execute(1));
await p.destroy();
