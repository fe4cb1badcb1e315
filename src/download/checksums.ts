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

// In the order a report prefers them. S3's response field and header for each are named after
// the algorithm: ChecksumCRC32 / x-amz-checksum-crc32.
const ALGORITHMS: readonly ChecksumAlgorithmName[] = ['CRC64NVME', 'CRC32C', 'CRC32', 'SHA256', 'SHA1'];
const BY_HEADER: ReadonlyMap<string, ChecksumAlgorithmName> = new Map(
  ALGORITHMS.map((algorithm) => [`x-amz-checksum-${algorithm.toLowerCase()}`, algorithm]),
);

export function checksumOf(output: { readonly [key: string]: unknown }, body: unknown): ChecksumInfo | undefined {
  // With ChecksumMode ENABLED, the SDK wraps the body in a stream that validates the bytes
  // against the first full-object checksum it supports, and names the header it used.
  const validatedHeader = (body as { checksumSourceLocation?: unknown }).checksumSourceLocation;
  if (typeof validatedHeader === 'string') {
    const algorithm = BY_HEADER.get(validatedHeader.toLowerCase());
    const value = algorithm === undefined ? undefined : output[`Checksum${algorithm}`];
    if (algorithm !== undefined && typeof value === 'string') return { algorithm, value, validated: true };
  }
  for (const algorithm of ALGORITHMS) {
    const value = output[`Checksum${algorithm}`];
    if (typeof value === 'string') return { algorithm, value, validated: false };
  }
  return undefined;
}
