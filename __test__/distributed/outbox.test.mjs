// The worker host's outbox (no Redis: a recording stand-in for its connection): a job's start
// notice waits its full delay for the job's outcomes, though Node's timer may fire early.
import { createRequire } from 'node:module';
import net from 'node:net';

import test from 'ava';

const { Outbox } = createRequire(import.meta.url)('../../dist/distributed/host.js');
const { decodeMessage } = createRequire(import.meta.url)('../../dist/distributed/protocol.js');

/** Stands in for the host's Redis connection: each pipeline's messages, and when it was sent. */
function recordingRedis() {
  const pushes = [];
  return {
    pushes,
    pipeline() {
      const messages = [];
      const pipeline = {
        rpush: (_key, bytes) => (messages.push(decodeMessage(bytes)), pipeline),
        pexpire: () => pipeline,
        exec: async () => void pushes.push({ at: performance.now(), messages }),
      };
      return pipeline;
    },
  };
}

test('a start notice is never sent before its delay has passed', async (t) => {
  // A host starts a job in a socket's callback (a reply from Redis). Node counts a timer set
  // there from the event loop's clock in whole milliseconds, and a 1 ms timer may fire at once.
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sent = [];
  const done = new Promise((resolve) => {
    server.on('connection', (socket) => {
      socket.on('data', () => {
        const redis = recordingRedis();
        const startedAt = performance.now();
        new Outbox(redis, 'q', 1).started('client', sent.length);
        const check = () => {
          if (redis.pushes.length === 0) return setImmediate(check);
          sent.push(redis.pushes[0].at - startedAt);
          if (sent.length === 100) resolve();
          else socket.write('next');
        };
        setImmediate(check);
      });
    });
  });
  const client = net.connect(server.address().port, '127.0.0.1');
  client.on('data', () => setTimeout(() => client.write('x'), 1));
  client.write('x');
  await done;
  client.destroy();
  server.close();
  const early = sent.filter((ms) => ms < 1);
  t.deepEqual(early, [], `${early.length} of ${sent.length} start notices were sent before their 1 ms`);
});

test("a job's outcomes that come before its start notice is due carry it: one message", async (t) => {
  const redis = recordingRedis();
  const outbox = new Outbox(redis, 'q', 60_000);
  outbox.started('client', 3);
  await new Promise(setImmediate);
  await outbox.send('client', [[3, 0, 1, 1, [42]]]);
  t.deepEqual(
    redis.pushes.map((p) => p.messages),
    [[{ s: [3], o: [[3, 0, 1, 1, [42]]] }]],
  );
  await outbox.idle();
});
