/**
 * AWS naming facts the URL parser checks against: partitions and their region patterns, bucket
 * names, access point names. Internal; the public entry points are in `s3-url.ts`.
 */

export interface Partition {
  readonly id: string;
  readonly dnsSuffix: string;
  /** Region pattern without anchors, so patterns can be combined. */
  readonly regionSource: string;
}

// From the partition table the AWS SDKs ship (`partitions.json`): DNS suffix and region pattern.
// `\w` there is narrowed to `[a-z]` because host names are matched lower-cased and no region has
// a digit or underscore in its middle part.
export const PARTITIONS: readonly Partition[] = [
  { id: 'aws', dnsSuffix: 'amazonaws.com', regionSource: '(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\\d+' },
  { id: 'aws-us-gov', dnsSuffix: 'amazonaws.com', regionSource: 'us-gov-[a-z]+-\\d+' },
  { id: 'aws-cn', dnsSuffix: 'amazonaws.com.cn', regionSource: 'cn-[a-z]+-\\d+' },
  { id: 'aws-eusc', dnsSuffix: 'amazonaws.eu', regionSource: 'eusc-de-[a-z]+-\\d+' },
  { id: 'aws-iso', dnsSuffix: 'c2s.ic.gov', regionSource: 'us-iso-[a-z]+-\\d+' },
  { id: 'aws-iso-b', dnsSuffix: 'sc2s.sgov.gov', regionSource: 'us-isob-[a-z]+-\\d+' },
  { id: 'aws-iso-e', dnsSuffix: 'cloud.adc-e.uk', regionSource: 'eu-isoe-[a-z]+-\\d+' },
  { id: 'aws-iso-f', dnsSuffix: 'csp.hci.ic.gov', regionSource: 'us-isof-[a-z]+-\\d+' },
];

/** The DNS suffix of the global endpoint and the legacy forms (`s3-<region>`, acceleration). */
export const GLOBAL_DNS_SUFFIX = 'amazonaws.com';

export const PARTITION_IDS: ReadonlySet<string> = new Set(PARTITIONS.map((p) => p.id));

const REGION_PATTERNS = PARTITIONS.map((p) => ({ partition: p, pattern: new RegExp(`^${p.regionSource}$`) }));

/** Each DNS suffix (with its leading dot) and one pattern matching every region under it. */
export const DNS_SUFFIXES: readonly { readonly suffix: string; readonly dnsSuffix: string; readonly region: RegExp }[] =
  [...new Set(PARTITIONS.map((p) => p.dnsSuffix))].map((dnsSuffix) => ({
    suffix: `.${dnsSuffix}`,
    dnsSuffix,
    region: new RegExp(
      `^(?:${PARTITIONS.filter((p) => p.dnsSuffix === dnsSuffix)
        .map((p) => p.regionSource)
        .join('|')})$`,
    ),
  }));

/** The partition whose region pattern `region` matches, or `undefined` for a non-region. */
export function regionPartition(region: string): Partition | undefined {
  for (const { partition, pattern } of REGION_PATTERNS) {
    if (pattern.test(region)) return partition;
  }
  return undefined;
}

// S3 refuses keys longer than 1,024 bytes of UTF-8.
export const MAX_KEY_BYTES = 1024;

/** True when `key` is over S3's 1,024-byte limit. */
export function keyTooLong(key: string): boolean {
  // A UTF-16 unit is at most three bytes of UTF-8: short keys need no count.
  return key.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES;
}

// A valid general-purpose bucket name has BUCKET_SHAPE and none of the exceptions below;
// bucketNameProblem spells out which rule a name breaks.
const BUCKET_SHAPE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IPV4_LIKE = /^\d+\.\d+\.\d+\.\d+$/;
// Access point aliases (`<name>-<suffix>-s3alias`) stand wherever a bucket name does.
const ACCESS_POINT_ALIAS = /^[a-z0-9][a-z0-9-]{1,54}-s3alias$/;

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'] as const;

function hasReservedAffix(name: string): boolean {
  for (const prefix of RESERVED_PREFIXES) if (name.startsWith(prefix)) return true;
  for (const suffix of RESERVED_SUFFIXES) if (name.endsWith(suffix)) return true;
  return false;
}

// Characters a reserved prefix starts with ('x', 's', 'a') or a reserved suffix ends with
// ('s', '3', 'p'): only names with one of them at that end need the slower affix checks.
const PREFIX_FIRST = new Set([0x78, 0x73, 0x61]);
const SUFFIX_LAST = new Set([0x73, 0x33, 0x70]);

/** True when `name` follows AWS's current naming rules for general-purpose buckets. */
export function isBucketName(name: string): boolean {
  return BUCKET_SHAPE.test(name) && !name.includes('..') && passesReservedRules(name);
}

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/**
 * `isBucketOrAlias` for a name already known to be lowercase labels of [a-z0-9-] joined by
 * single dots (a host name prefix that passed `scan`): the character checks are skipped.
 */
export function isPlainBucketOrAlias(name: string): boolean {
  const n = name.length;
  if (n < 3 || n > 63 || !isAlnum(name.charCodeAt(0)) || !isAlnum(name.charCodeAt(n - 1))) return false;
  return passesReservedRules(name) || ACCESS_POINT_ALIAS.test(name);
}

function passesReservedRules(name: string): boolean {
  const first = name.charCodeAt(0);
  if (first <= 0x39 && IPV4_LIKE.test(name)) return false;
  if ((PREFIX_FIRST.has(first) || SUFFIX_LAST.has(name.charCodeAt(name.length - 1))) && hasReservedAffix(name)) {
    return false;
  }
  return true;
}

/** True for a bucket name or an access point alias: anything `GetObject` takes as `Bucket`. */
export function isBucketOrAlias(name: string): boolean {
  return isBucketName(name) || ACCESS_POINT_ALIAS.test(name);
}

/** Why `name` is not a valid general-purpose bucket name, or `undefined` when it is. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'a bucket name has 3 to 63 characters';
  if (!BUCKET_SHAPE.test(name)) {
    return 'a bucket name has only lowercase letters, digits, dots and hyphens, and starts and ends with a letter or digit';
  }
  if (name.includes('..')) return 'a bucket name has no two adjacent dots';
  if (IPV4_LIKE.test(name)) return 'a bucket name is not formatted as an IP address';
  for (const prefix of RESERVED_PREFIXES) {
    if (name.startsWith(prefix)) return `bucket names starting with "${prefix}" are reserved`;
  }
  for (const suffix of RESERVED_SUFFIXES) {
    if (name.endsWith(suffix)) return `bucket names ending with "${suffix}" are reserved`;
  }
  return undefined;
}

export const ACCOUNT_ID = /^\d{12}$/;
/** Access point names: 3–50 lowercase letters, digits and hyphens, a letter or digit at each end. */
export const ACCESS_POINT_NAME = /^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/;
/** `<name>-<account id>`, the first label of an access point host. */
export const ACCESS_POINT_HOST_LABEL = /^([a-z0-9][a-z0-9-]{1,48}[a-z0-9])-(\d{12})$/;
export const MRAP_ALIAS = /^[a-z0-9]+\.mrap$/;
export const VPCE_ID = /^vpce-[a-z0-9]+(?:-[a-z0-9]+)*$/;
