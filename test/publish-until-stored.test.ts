// publishUntilStored against a real nats-server: it retries until JetStream stores the message,
// and ends its retries when what the message carries is no longer wanted (`abandon`), e.g. the
// tries of a batch whose site was lost have failed or moved elsewhere meanwhile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats, NatsServer } from '../src/internal.ts';
import { publishUntilStored } from '../src/nats/publish-until-stored.ts';

const AUTH = { user: 'parsl', password: 'publish-until-stored' };

test('publish until stored - retries until a stream takes the message; abandon ends the retries', async () => {
  const server = await NatsServer.start({ auth: AUTH, jetstream: true });
  const nc = await connectNats({ servers: [server.url], ...AUTH }, 'publish-until-stored test');
  try {
    const js = jetstream(nc);
    // No stream for the subject yet: every publish is refused at once.
    let asked = 0;
    const warnings: string[] = [];
    const abandoned = await publishUntilStored(js, 'nowhere.tasks', 'x', {
      msgID: 'a',
      timeoutMs: 500,
      warn: (message) => void warnings.push(message),
      abandon: () => ++asked >= 3,
    });
    assert.is(abandoned, undefined, 'not stored: abandoned');
    assert.is(asked, 3, 'asked after each failed publish, and stopped when told');
    assert.is(warnings.length, 1, 'the first failure is told');

    // A stream that appears while it retries: stored, once.
    const jsm = await jetstreamManager(nc);
    let created = false;
    const stored = await publishUntilStored(js, 'somewhere.tasks', 'y', {
      msgID: 'b',
      timeoutMs: 500,
      abandon: () => {
        if (!created) void jsm.streams.add({ name: 'SOMEWHERE', subjects: ['somewhere.>'] }).then(() => (created = true));
        return false;
      },
    });
    assert.ok(stored && stored.attempts > 1, `stored after ${stored?.attempts} attempts`);
    assert.is((await jsm.streams.info('SOMEWHERE')).state.messages, 1);
  } finally {
    await nc.close();
    await server.stop();
  }
});

test.run();
