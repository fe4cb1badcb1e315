// Run by test/download.emulator.test.ts as a separate process, to be killed with SIGKILL in the
// middle of a download: node test/support/download-child.ts <endpoint> <bucket> <key> <target>
import { S3Client } from '@aws-sdk/client-s3';
import { downloadS3Object } from '../../src/index.ts';

const [endpoint, bucket, key, target] = process.argv.slice(2);
if (endpoint === undefined || bucket === undefined || key === undefined || target === undefined) {
  throw new Error('usage: download-child.ts <endpoint> <bucket> <key> <target>');
}
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});
let told = false;
await downloadS3Object({
  client,
  source: { bucket, key },
  target,
  retry: false,
  onProgress: () => {
    if (!told) {
      told = true;
      process.stdout.write('receiving\n');
    }
  },
});
process.stdout.write('finished\n');
