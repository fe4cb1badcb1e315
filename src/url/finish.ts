import { refuseUrl as refuse, S3UrlError } from '../errors.ts';
import { bucketNameProblem, isBucketName, isBucketOrAlias, keyTooLong, MAX_KEY_BYTES } from './aws-names.ts';
import { percentDecode } from './percent-decode.ts';
import type { ParsedS3Url, S3UrlStyle } from './s3-url.ts';
import type { Scan } from './scan.ts';

/**
 * The end of every parse: the bucket check's refusal, the key and version id read from the path
 * and query, and the result object. Internal to `parseS3Url`.
 */

export function badBucket(input: string, bucket: string): never {
  if (bucket.length === 0) refuse(input, 'the URL names no bucket');
  return refuse(input, `invalid bucket name "${bucket}": ${bucketNameProblem(bucket)}`);
}

function result(
  style: S3UrlStyle,
  bucket: string,
  key: string,
  region: string | undefined,
  versionId: string | undefined,
): ParsedS3Url {
  if (region === undefined) return versionId === undefined ? { bucket, key, style } : { bucket, key, versionId, style };
  return versionId === undefined ? { bucket, key, region, style } : { bucket, key, region, versionId, style };
}

/** The `versionId` parameter of the query that runs from `from` to the end of `input`. */
function decodeVersionId(input: string, from: number): string | undefined {
  let versionId: string | undefined;
  for (let at = from; at < input.length; ) {
    let next = input.indexOf('&', at);
    if (next === -1) next = input.length;
    const named = input.startsWith('versionId', at) && (at + 9 === next || input.charCodeAt(at + 9) === 0x3d);
    const pairAt = at;
    at = next + 1;
    if (!named) continue;
    if (versionId !== undefined) refuse(input, 'more than one versionId');
    const raw = input.slice(Math.min(pairAt + 10, next), next);
    if (raw.length === 0) refuse(input, 'versionId is empty');
    try {
      // `+` is kept as `+`: version ids are base64-like and may contain it, never a space.
      versionId = percentDecode(raw);
    } catch (error) {
      throw new S3UrlError({ input, reason: 'malformed percent-encoding in versionId', cause: error });
    }
  }
  return versionId;
}

/**
 * Reads the key (from `from` to the query) and the version id, and builds the result. The key is
 * percent-decoded exactly once; a fragment is refused.
 */
export function finish(
  input: string,
  scanned: Scan,
  from: number,
  style: S3UrlStyle,
  bucket: string,
  region: string | undefined,
): ParsedS3Url {
  if (scanned.fragment !== -1) {
    refuse(input, 'a URL fragment (#…) is never sent to S3; write "#" in a key as %23');
  }
  const q = scanned.query;
  if (q !== -1 && q < from) refuse(input, 'the URL names no object key');
  const raw = q === -1 ? input.slice(from) : input.slice(from, q);
  if (raw.length === 0) refuse(input, 'the URL names no object key');
  let key = raw;
  if (scanned.percent) {
    try {
      key = percentDecode(raw);
    } catch (error) {
      throw new S3UrlError({ input, reason: 'malformed percent-encoding in the object key', cause: error });
    }
  }
  if (keyTooLong(key)) refuse(input, `the object key is longer than ${MAX_KEY_BYTES} bytes`);
  const versionId = q === -1 ? undefined : decodeVersionId(input, q + 1);
  return result(style, bucket, key, region, versionId);
}

/** Path style: /<bucket>/<key>, from `pathFrom` (just past the authority's '/'). */
export function parsePathStyle(
  input: string,
  scanned: Scan,
  pathFrom: number,
  region: string | undefined,
  allowAlias: boolean,
): ParsedS3Url {
  const stop = scanned.query !== -1 ? scanned.query : scanned.fragment !== -1 ? scanned.fragment : input.length;
  const slash = input.indexOf('/', pathFrom);
  const bucketEnd = slash === -1 || slash > stop ? stop : slash;
  const bucket = input.slice(pathFrom, bucketEnd);
  // Access point aliases are AWS's; a custom endpoint takes bucket names only.
  if (!(allowAlias ? isBucketOrAlias(bucket) : isBucketName(bucket))) badBucket(input, bucket);
  if (bucketEnd !== slash) refuse(input, 'the URL names no object key');
  return finish(input, scanned, slash + 1, 'path', bucket, region);
}
