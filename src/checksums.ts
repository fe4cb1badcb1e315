/** Which checksum S3 sent with an object, and whether the AWS SDK validated the bytes against it. */

/** The full-object checksums S3 can return. */
export type ChecksumAlgorithmName = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** A checksum S3 returned with the object, and whether the bytes were checked against it. */
export interface ChecksumInfo {
  readonly algorithm: ChecksumAlgorithmName;
  /** Base64, as S3 sent it; a composite (multipart) checksum ends in `-<parts>`. */
  readonly value: string;
  /**
   * True when the AWS SDK validated the received bytes against this checksum (a mismatch would
   * have failed the download). False for composite checksums, which cannot be validated from a
   * whole-object GET.
   */
  readonly validated: boolean;
}

const CHECKSUM_HEADERS: Readonly<Record<string, ChecksumAlgorithmName>> = {
  'x-amz-checksum-crc32': 'CRC32',
  'x-amz-checksum-crc32c': 'CRC32C',
  'x-amz-checksum-crc64nvme': 'CRC64NVME',
  'x-amz-checksum-sha1': 'SHA1',
  'x-amz-checksum-sha256': 'SHA256',
};

export function checksumOf(output: { readonly [key: string]: unknown }, body: unknown): ChecksumInfo | undefined {
  // With ChecksumMode ENABLED, the SDK wraps the body in a stream that validates the bytes
  // against the first full-object checksum it supports, and names the header it used.
  const validatedHeader = (body as { checksumSourceLocation?: unknown }).checksumSourceLocation;
  const fields: readonly [string, ChecksumAlgorithmName][] = [
    ['ChecksumCRC64NVME', 'CRC64NVME'],
    ['ChecksumCRC32C', 'CRC32C'],
    ['ChecksumCRC32', 'CRC32'],
    ['ChecksumSHA256', 'SHA256'],
    ['ChecksumSHA1', 'SHA1'],
  ];
  if (typeof validatedHeader === 'string') {
    const algorithm = CHECKSUM_HEADERS[validatedHeader.toLowerCase()];
    const field = fields.find(([, name]) => name === algorithm);
    const value = field === undefined ? undefined : output[field[0]];
    if (algorithm !== undefined && typeof value === 'string') return { algorithm, value, validated: true };
  }
  for (const [field, algorithm] of fields) {
    const value = output[field];
    if (typeof value === 'string') return { algorithm, value, validated: false };
  }
  return undefined;
}
