// Waits until the broker answers a metadata request (not merely until the port is open: KRaft opens the listener
// before the broker is ready). Exits 1 on timeout or when the broker process dies meanwhile.
const { readFileSync } = require('node:fs');
const { Kafka, logLevel } = require('kafkajs');

const [broker, timeoutText, pidFile] = process.argv.slice(2);
const deadline = Date.now() + Number(timeoutText || 90000);

function brokerProcessAlive() {
  if (!pidFile) return true;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const kafka = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  while (Date.now() < deadline) {
    if (!brokerProcessAlive()) {
      console.error('stack: the Kafka process exited during start-up');
      process.exit(1);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      if (cluster.brokers.length > 0) return;
    } catch {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.error(`stack: no metadata answer from ${broker}`);
  process.exit(1);
}

main();
