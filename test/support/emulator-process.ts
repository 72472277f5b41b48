// Runs in a child process (fauxqs is ESM-only, jest's module system is not):
// starts both emulators in memory on free ports and prints their endpoints.
import { startEmulators } from '../../local/emulators';

const main = async () => {
  const emulators = await startEmulators({ dynamoDbPort: 0, sqsPort: 0 });
  process.stdout.write(`${JSON.stringify({ dynamoDb: emulators.dynamoDbEndpoint, sqs: emulators.sqsEndpoint })}\n`);
  const stop = () => void emulators.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // the parent closes our stdin when it exits, even if it could not signal us
  process.stdin.on('end', stop).resume();
};

void main();
