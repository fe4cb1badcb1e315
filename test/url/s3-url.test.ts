import { describe, expect, it } from 'vitest';
import {
  formatS3Url,
  isS3SyncError,
  isValidBucketName,
  type ParsedS3Url,
  parseS3Url,
  S3SyncError,
  S3UrlError,
  tryParseS3Url,
} from '../../src/index.ts';

type Accepted = readonly [input: string, expected: ParsedS3Url];
type Refused = readonly [input: string, reason: RegExp];

// Each class mirrors a section of AWS's documentation on addressing objects (virtual hosting,
// path style, dual-stack, FIPS, acceleration, access points) or a behaviour the AWS SDKs and CLI
// publish (S3Utilities.parseUri in the Java SDK, `aws s3` URI handling).
const accepted: Record<string, readonly Accepted[]> = {
  's3:// URIs (AWS CLI, console "Copy S3 URI")': [
    ['s3://my-bucket/key', { bucket: 'my-bucket', key: 'key', style: 's3' }],
    ['s3://my-bucket/path/to/file.json', { bucket: 'my-bucket', key: 'path/to/file.json', style: 's3' }],
    ['s3://my.dotted.bucket/a', { bucket: 'my.dotted.bucket', key: 'a', style: 's3' }],
    ['S3://my-bucket/key', { bucket: 'my-bucket', key: 'key', style: 's3' }],
    ['s3://abc/k', { bucket: 'abc', key: 'k', style: 's3' }],
    ['s3://a-b/k', { bucket: 'a-b', key: 'k', style: 's3' }],
    [`s3://${'a'.repeat(63)}/k`, { bucket: 'a'.repeat(63), key: 'k', style: 's3' }],
    ['s3://bucket-123/registry.json', { bucket: 'bucket-123', key: 'registry.json', style: 's3' }],
    ['s3://123bucket/k', { bucket: '123bucket', key: 'k', style: 's3' }],
    ['s3://my-bucket/dir/', { bucket: 'my-bucket', key: 'dir/', style: 's3' }],
    ['s3://my-bucket//leading-slash', { bucket: 'my-bucket', key: '/leading-slash', style: 's3' }],
    ['s3://my-bucket/a//b', { bucket: 'my-bucket', key: 'a//b', style: 's3' }],
    [
      's3://bucket-an-111122223333-us-west-2-an/k',
      { bucket: 'bucket-an-111122223333-us-west-2-an', key: 'k', style: 's3' },
    ],
    ['s3://1.2.3/k', { bucket: '1.2.3', key: 'k', style: 's3' }],
  ],
  'keys decoded exactly once': [
    ['s3://my-bucket/my%20file.json', { bucket: 'my-bucket', key: 'my file.json', style: 's3' }],
    ['s3://my-bucket/a+b.json', { bucket: 'my-bucket', key: 'a+b.json', style: 's3' }],
    ['s3://my-bucket/a%2Bb.json', { bucket: 'my-bucket', key: 'a+b.json', style: 's3' }],
    ['s3://my-bucket/100%25.json', { bucket: 'my-bucket', key: '100%.json', style: 's3' }],
    ['s3://my-bucket/%2525', { bucket: 'my-bucket', key: '%25', style: 's3' }],
    ['s3://my-bucket/a%2Fb', { bucket: 'my-bucket', key: 'a/b', style: 's3' }],
    ['s3://my-bucket/caf%C3%A9', { bucket: 'my-bucket', key: 'café', style: 's3' }],
    ['s3://my-bucket/café', { bucket: 'my-bucket', key: 'café', style: 's3' }],
    ['s3://my-bucket/%E2%9C%93/%F0%9F%98%80', { bucket: 'my-bucket', key: '✓/😀', style: 's3' }],
    ['s3://my-bucket/what%3F', { bucket: 'my-bucket', key: 'what?', style: 's3' }],
    ['s3://my-bucket/hash%23tag', { bucket: 'my-bucket', key: 'hash#tag', style: 's3' }],
    ['s3://my-bucket/with space', { bucket: 'my-bucket', key: 'with space', style: 's3' }],
    ['https://my-bucket.s3.amazonaws.com/a+b', { bucket: 'my-bucket', key: 'a+b', style: 'virtual-hosted' }],
    ['https://my-bucket.s3.amazonaws.com/a%2Bb%20c', { bucket: 'my-bucket', key: 'a+b c', style: 'virtual-hosted' }],
    ['https://s3.amazonaws.com/my-bucket/a+b', { bucket: 'my-bucket', key: 'a+b', style: 'path' }],
    ['https://my-bucket.s3.amazonaws.com/%7Euser/x', { bucket: 'my-bucket', key: '~user/x', style: 'virtual-hosted' }],
    ['https://my-bucket.s3.amazonaws.com/a%3Ab%2Cc', { bucket: 'my-bucket', key: 'a:b,c', style: 'virtual-hosted' }],
    ['https://my-bucket.s3.amazonaws.com/%00nul', { bucket: 'my-bucket', key: '\u0000nul', style: 'virtual-hosted' }],
  ],
  'dot segments kept as written (legal key characters)': [
    ['s3://my-bucket/a/../b', { bucket: 'my-bucket', key: 'a/../b', style: 's3' }],
    ['s3://my-bucket/./a', { bucket: 'my-bucket', key: './a', style: 's3' }],
    [
      'https://my-bucket.s3.amazonaws.com/a/./b/../c',
      { bucket: 'my-bucket', key: 'a/./b/../c', style: 'virtual-hosted' },
    ],
    ['https://s3.amazonaws.com/my-bucket/../x', { bucket: 'my-bucket', key: '../x', style: 'path' }],
    [
      'https://s3.us-east-1.amazonaws.com/my-bucket/..',
      { bucket: 'my-bucket', key: '..', region: 'us-east-1', style: 'path' },
    ],
  ],
  'virtual-hosted, regional': [
    [
      'https://my-bucket.s3.us-west-2.amazonaws.com/puppy.png',
      { bucket: 'my-bucket', key: 'puppy.png', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://amzn-s3-demo.s3.eu-central-1.amazonaws.com/k',
      { bucket: 'amzn-s3-demo', key: 'k', region: 'eu-central-1', style: 'virtual-hosted' },
    ],
    [
      'https://b1a.s3.us-east-1.amazonaws.com/k',
      { bucket: 'b1a', key: 'k', region: 'us-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.ap-southeast-7.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'ap-southeast-7', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.il-central-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'il-central-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.mx-central-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'mx-central-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.me-south-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'me-south-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.af-south-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'af-south-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.ca-west-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'ca-west-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.sa-east-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'sa-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://my.dotted.bucket.s3.us-west-2.amazonaws.com/k',
      { bucket: 'my.dotted.bucket', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://sss.s3.us-west-2.amazonaws.com/k',
      { bucket: 'sss', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'http://my-bucket.s3.us-west-2.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'HTTPS://MY-BUCKET.S3.US-WEST-2.AMAZONAWS.COM/Key',
      { bucket: 'my-bucket', key: 'Key', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.us-west-2.amazonaws.com:443/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.us-gov-west-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.us-gov-east-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3-bucket.s3.us-east-2.amazonaws.com/k',
      { bucket: 's3-bucket', key: 'k', region: 'us-east-2', style: 'virtual-hosted' },
    ],
    ['https://s3.amazonaws.com.s3.amazonaws.com/k', { bucket: 's3.amazonaws.com', key: 'k', style: 'virtual-hosted' }],
  ],
  'virtual-hosted, legacy global and dash endpoints': [
    ['https://my-bucket.s3.amazonaws.com/k', { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' }],
    ['https://my.bucket.s3.amazonaws.com/a/b', { bucket: 'my.bucket', key: 'a/b', style: 'virtual-hosted' }],
    [
      'https://my-bucket.s3-us-west-2.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3-eu-west-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'eu-west-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3-ap-northeast-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'ap-northeast-1', style: 'virtual-hosted' },
    ],
    ['https://my-bucket.s3-external-1.amazonaws.com/k', { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' }],
    [
      'https://my-bucket.s3-us-gov-west-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3-fips-us-gov-west-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'virtual-hosted' },
    ],
  ],
  'path style': [
    [
      'https://s3.us-west-2.amazonaws.com/my-bucket/puppy.jpg',
      { bucket: 'my-bucket', key: 'puppy.jpg', region: 'us-west-2', style: 'path' },
    ],
    ['https://s3.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', style: 'path' }],
    ['https://s3.amazonaws.com/my.bucket/k', { bucket: 'my.bucket', key: 'k', style: 'path' }],
    [
      'https://s3-us-west-2.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'path' },
    ],
    ['https://s3-external-1.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', style: 'path' }],
    [
      'https://s3.eu-west-3.amazonaws.com/my-bucket/a/b/c.json',
      { bucket: 'my-bucket', key: 'a/b/c.json', region: 'eu-west-3', style: 'path' },
    ],
    ['http://s3.amazonaws.com/my-bucket/k', { bucket: 'my-bucket', key: 'k', style: 'path' }],
    [
      'https://s3.us-west-2.amazonaws.com/my-bucket//k',
      { bucket: 'my-bucket', key: '/k', region: 'us-west-2', style: 'path' },
    ],
    ['https://S3.AMAZONAWS.COM/my-bucket/K', { bucket: 'my-bucket', key: 'K', style: 'path' }],
    [
      'https://s3.us-gov-west-1.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'path' },
    ],
    ['https://s3.amazonaws.com:443/my-bucket/k', { bucket: 'my-bucket', key: 'k', style: 'path' }],
  ],
  'dual-stack': [
    [
      'https://my-bucket.s3.dualstack.us-west-2.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'virtual-hosted' },
    ],
    [
      'https://s3.dualstack.us-west-2.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-2', style: 'path' },
    ],
    [
      'https://my.bucket.s3.dualstack.eu-west-1.amazonaws.com/k',
      { bucket: 'my.bucket', key: 'k', region: 'eu-west-1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.dualstack.cn-north-1.amazonaws.com.cn/k',
      { bucket: 'my-bucket', key: 'k', region: 'cn-north-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3.dualstack.us-gov-west-1.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'path' },
    ],
  ],
  FIPS: [
    [
      'https://my-bucket.s3-fips.us-east-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3-fips.us-gov-west-1.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'path' },
    ],
    [
      'https://my-bucket.s3-fips.dualstack.us-east-2.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-east-2', style: 'virtual-hosted' },
    ],
    [
      'https://s3-fips.dualstack.us-west-1.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-west-1', style: 'path' },
    ],
    [
      'https://s3-fips-us-gov-west-1.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-gov-west-1', style: 'path' },
    ],
    [
      'https://my-bucket.s3-fips.ca-central-1.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'ca-central-1', style: 'virtual-hosted' },
    ],
  ],
  'transfer acceleration (no region is named)': [
    ['https://my-bucket.s3-accelerate.amazonaws.com/k', { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' }],
    [
      'https://my-bucket.s3-accelerate.dualstack.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' },
    ],
    [
      'https://big-files.s3-accelerate.amazonaws.com/a/b%20c',
      { bucket: 'big-files', key: 'a/b c', style: 'virtual-hosted' },
    ],
  ],
  'China regions (amazonaws.com.cn)': [
    [
      'https://my-bucket.s3.cn-north-1.amazonaws.com.cn/k',
      { bucket: 'my-bucket', key: 'k', region: 'cn-north-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3.cn-northwest-1.amazonaws.com.cn/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'cn-northwest-1', style: 'path' },
    ],
    [
      'https://my.bucket.s3.cn-northwest-1.amazonaws.com.cn/k',
      { bucket: 'my.bucket', key: 'k', region: 'cn-northwest-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3.dualstack.cn-north-1.amazonaws.com.cn/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'cn-north-1', style: 'path' },
    ],
  ],
  'interface VPC endpoints (PrivateLink)': [
    [
      'https://my-bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-east-1', style: 'path' },
    ],
    [
      'https://my.bucket.vpce-0abc-12345678.s3.eu-west-1.vpce.amazonaws.com/a/b',
      { bucket: 'my.bucket', key: 'a/b', region: 'eu-west-1', style: 'virtual-hosted' },
    ],
  ],
  'other AWS partitions': [
    [
      'https://my-bucket.s3.eusc-de-east-1.amazonaws.eu/k',
      { bucket: 'my-bucket', key: 'k', region: 'eusc-de-east-1', style: 'virtual-hosted' },
    ],
    [
      'https://s3.us-iso-east-1.c2s.ic.gov/my-bucket/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-iso-east-1', style: 'path' },
    ],
    [
      'https://my-bucket.s3.us-isob-east-1.sc2s.sgov.gov/k',
      { bucket: 'my-bucket', key: 'k', region: 'us-isob-east-1', style: 'virtual-hosted' },
    ],
  ],
  versionId: [
    ['s3://my-bucket/k?versionId=abc123', { bucket: 'my-bucket', key: 'k', versionId: 'abc123', style: 's3' }],
    [
      'https://my-bucket.s3.us-west-1.amazonaws.com/doc.txt?versionId=abc123',
      { bucket: 'my-bucket', key: 'doc.txt', region: 'us-west-1', versionId: 'abc123', style: 'virtual-hosted' },
    ],
    [
      'https://s3.us-west-1.amazonaws.com/my-bucket/resources/doc.txt?versionId=abc123&partNumber=77&partNumber=88',
      { bucket: 'my-bucket', key: 'resources/doc.txt', region: 'us-west-1', versionId: 'abc123', style: 'path' },
    ],
    [
      'https://my-bucket.s3.amazonaws.com/k?versionId=3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo',
      {
        bucket: 'my-bucket',
        key: 'k',
        versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo',
        style: 'virtual-hosted',
      },
    ],
    [
      'https://my-bucket.s3.amazonaws.com/k?versionId=3%2FL4kqtJl40Nr8X8gdRQBpUMLUo',
      { bucket: 'my-bucket', key: 'k', versionId: '3/L4kqtJl40Nr8X8gdRQBpUMLUo', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&versionId=v1&X-Amz-Signature=abc',
      { bucket: 'my-bucket', key: 'k', versionId: 'v1', style: 'virtual-hosted' },
    ],
    [
      'https://my-bucket.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600',
      { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' },
    ],
    ['https://my-bucket.s3.amazonaws.com/k?', { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' }],
    [
      'https://my-bucket.s3.amazonaws.com/k?versionid=ignored-case-differs',
      { bucket: 'my-bucket', key: 'k', style: 'virtual-hosted' },
    ],
    ['s3://my-bucket/a%3Fb?versionId=null', { bucket: 'my-bucket', key: 'a?b', versionId: 'null', style: 's3' }],
  ],
  'access points': [
    [
      's3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/key',
      { bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap', key: 'key', region: 'us-west-2', style: 's3' },
    ],
    [
      's3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/dir/file.json',
      {
        bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap',
        key: 'dir/file.json',
        region: 'us-west-2',
        style: 's3',
      },
    ],
    [
      's3://arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap/k',
      {
        bucket: 'arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/my-ap',
        key: 'k',
        region: 'cn-north-1',
        style: 's3',
      },
    ],
    [
      's3://arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/my-ap/k',
      {
        bucket: 'arn:aws-us-gov:s3:us-gov-west-1:123456789012:accesspoint/my-ap',
        key: 'k',
        region: 'us-gov-west-1',
        style: 's3',
      },
    ],
    [
      's3://arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap/k',
      { bucket: 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap', key: 'k', style: 's3' },
    ],
    [
      's3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap/a:b?versionId=v2',
      {
        bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap',
        key: 'a:b',
        region: 'us-west-2',
        versionId: 'v2',
        style: 's3',
      },
    ],
    [
      'https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/k',
      {
        bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap',
        key: 'k',
        region: 'us-west-2',
        style: 'virtual-hosted',
      },
    ],
    [
      'https://my-ap-123456789012.s3-accesspoint.dualstack.us-west-2.amazonaws.com/k',
      {
        bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap',
        key: 'k',
        region: 'us-west-2',
        style: 'virtual-hosted',
      },
    ],
    [
      'https://my-ap-123456789012.s3-accesspoint-fips.us-east-1.amazonaws.com/k',
      {
        bucket: 'arn:aws:s3:us-east-1:123456789012:accesspoint/my-ap',
        key: 'k',
        region: 'us-east-1',
        style: 'virtual-hosted',
      },
    ],
    [
      'https://ap2-123456789012.s3-accesspoint.cn-north-1.amazonaws.com.cn/k',
      {
        bucket: 'arn:aws-cn:s3:cn-north-1:123456789012:accesspoint/ap2',
        key: 'k',
        region: 'cn-north-1',
        style: 'virtual-hosted',
      },
    ],
    [
      's3://my-access-point-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias/k',
      { bucket: 'my-access-point-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias', key: 'k', style: 's3' },
    ],
  ],
};

const refused: Record<string, readonly Refused[]> = {
  'look-alike and non-AWS hosts': [
    ['https://s3.amazonaws.com.evil.com/bucket/key', /not an AWS S3 host/],
    ['https://bucket.s3.amazonaws.com.evil.com/key', /not an AWS S3 host/],
    ['https://bucket.s3.us-east-1.amazonaws.com.evil.com/key', /not an AWS S3 host/],
    ['https://evil.com/s3.amazonaws.com/bucket/key', /not an AWS S3 host/],
    ['https://s3.amazonaws.com@evil.com/bucket/key', /credentials/],
    ['https://user:pass@bucket.s3.amazonaws.com/key', /credentials/],
    ['https://evil.com\\@bucket.s3.amazonaws.com/key', /backslash/],
    ['https://bucket.s3.amazonaws.com./key', /not a valid host name/],
    ['https://evils3.amazonaws.com/bucket/key', /not an S3 host/],
    ['https://bucket.s3x.amazonaws.com/key', /not an S3 host/],
    ['https://amazonaws.com/bucket/key', /not an AWS S3 host/],
    ['https://bucket.s3.us-east-1.amazonaws.org/key', /not an AWS S3 host/],
    ['https://storage.googleapis.com/bucket/key', /not an AWS S3 host/],
    ['https://bucket.ec2.us-east-1.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.us-east-1.amazonaws.com/key', /not an S3 host/],
    ['https://localhost:4566/bucket/key', /not an AWS S3 host/],
    ['https://127.0.0.1/bucket/key', /not an AWS S3 host/],
    ['https://[::1]/bucket/key', /invalid port|not an S3 host/],
    ['https://bucket.s3.amazonaws.com:99999/key', /invalid port/],
    ['https://bucket.s3.amazonaws.com:abc/key', /invalid port/],
    ['https://bücket.s3.amazonaws.com/key', /not an S3 host/],
    ['https://bucket..s3.amazonaws.com/key', /not a valid host name/],
    ['https://.s3.amazonaws.com/key', /not a valid host name/],
  ],
  'interface VPC endpoint hosts that name no bucket': [
    ['https://accesspoint.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/k', /access point|accesspoint/],
    ['https://control.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/k', /control/],
    ['https://my-bucket.vpce-1a2b3c4d-5e6f.ec2.us-east-1.vpce.amazonaws.com/k', /not an S3 host/],
    ['https://my-bucket.vpce.amazonaws.com/k', /not an S3 host/],
  ],
  'region that does not belong to the domain': [
    ['https://bucket.s3.cn-north-1.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3.us-east-1.amazonaws.com.cn/key', /not an S3 host/],
    ['https://bucket.s3.amazonaws.com.cn/key', /no global S3 endpoint/],
    ['https://bucket.s3.xx-east-1.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3.us-east.amazonaws.com/key', /not an S3 host/],
  ],
  '"fips", "dualstack" and "accelerate" are never regions': [
    ['https://bucket.s3.fips.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3.dualstack.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3.accelerate.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3-dualstack.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3-fips.amazonaws.com/key', /not an S3 host/],
    ['https://s3-accelerate.amazonaws.com/bucket/key', /transfer acceleration/],
    ['https://my.bucket.s3-accelerate.amazonaws.com/key', /no dots/],
    ['https://bucket.s3-accelerate.us-east-1.amazonaws.com/key', /not an S3 host/],
    ['https://bucket.s3-accelerate.amazonaws.com.cn/key', /not an S3 host/],
  ],
  'website, Outposts, Object Lambda, control and directory bucket endpoints': [
    ['http://bucket.s3-website-us-east-1.amazonaws.com/index.html', /website/],
    ['http://bucket.s3-website.eu-central-1.amazonaws.com/index.html', /website/],
    ['http://bucket.s3-website.cn-north-1.amazonaws.com.cn/index.html', /website/],
    ['https://ap-123456789012.op-01ac5d28a6a232904.s3-outposts.us-west-2.amazonaws.com/k', /Outposts/],
    ['s3://arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01ac5d28a6a232904/accesspoint/ap/k', /Outposts/],
    ['https://my-olap-123456789012.s3-object-lambda.us-west-2.amazonaws.com/k', /Object Lambda/],
    ['s3://arn:aws:s3-object-lambda:us-west-2:123456789012:accesspoint/my-olap/k', /Object Lambda/],
    ['https://123456789012.s3-control.us-west-2.amazonaws.com/v20180820/configuration', /control endpoint/],
    ['https://bucket--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/k', /directory bucket/],
    ['https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/k', /Multi-Region Access Point/],
  ],
  'invalid bucket names (general-purpose rules)': [
    ['s3://ab/key', /3 to 63/],
    [`s3://${'a'.repeat(64)}/key`, /3 to 63/],
    ['s3://MyBucket/key', /lowercase/],
    ['s3://my_bucket/key', /lowercase/],
    ['s3://-bucket/key', /starts and ends/],
    ['s3://bucket-/key', /starts and ends/],
    ['s3://.bucket/key', /starts and ends/],
    ['s3://bucket./key', /starts and ends/],
    ['s3://my..bucket/key', /adjacent dots/],
    ['s3://192.168.5.4/key', /IP address/],
    ['s3://xn--bucket/key', /reserved/],
    ['s3://sthree-bucket/key', /reserved/],
    ['s3://sthree-configurator/key', /reserved/],
    ['s3://amzn-s3-demo-bucket/key', /reserved/],
    ['s3://bucket--ol-s3/key', /reserved/],
    ['s3://bucket.mrap/key', /reserved/],
    ['s3://bucket--usw2-az1--x-s3/key', /reserved/],
    ['s3://bucket--table-s3/key', /reserved/],
    ['s3://my.ap-s3alias/key', /reserved/],
    ['s3://bucket:443/key', /lowercase/],
    ['https://my_bucket.s3.amazonaws.com/key', /not an S3 host/],
    ['https://s3.amazonaws.com/MyBucket/key', /lowercase/],
    ['https://s3.amazonaws.com/my%2Dbucket/key', /lowercase/],
    ['https://s3.us-west-2.amazonaws.com/192.168.5.4/key', /IP address/],
  ],
  'missing bucket or key': [
    ['s3://', /no bucket/],
    ['s3:///key', /no bucket/],
    ['s3://bucket', /no object key/],
    ['s3://bucket/', /no object key/],
    ['s3://bucket?versionId=1', /no object key/],
    ['https://bucket.s3.amazonaws.com', /no object key/],
    ['https://bucket.s3.amazonaws.com/', /no object key/],
    ['https://bucket.s3.amazonaws.com?versionId=1', /no object key/],
    ['https://s3.amazonaws.com/', /no bucket/],
    ['https://s3.amazonaws.com', /no bucket/],
    ['https://s3.amazonaws.com/bucket', /no object key/],
    ['https://s3.amazonaws.com/bucket/', /no object key/],
    ['https://s3.us-west-2.amazonaws.com//key', /no bucket/],
    ['https:///bucket/key', /no host/],
    ['s3://arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap', /no object key/],
  ],
  'other schemes and non-URLs': [
    ['', /expected an s3:\/\//],
    ['bucket/key', /expected an s3:\/\//],
    ['s3:bucket/key', /expected an s3:\/\//],
    ['s3a://bucket/key', /unsupported scheme/],
    ['s3n://bucket/key', /unsupported scheme/],
    ['ftp://bucket.s3.amazonaws.com/key', /unsupported scheme/],
    ['file:///tmp/key', /unsupported scheme/],
    ['gs://bucket/key', /unsupported scheme/],
    ['arn:aws:s3:::bucket/key', /expected an s3:\/\//],
    [' s3://bucket/key', /leading or trailing/],
    ['s3://bucket/key ', /leading or trailing/],
    ['s3://bucket/key\n', /control character/],
    ['s3://bucket/ke\ty', /control character/],
    ['https://bucket.s3.amazonaws.com/k\u007f', /control character/],
    [`s3://bucket/${'k'.repeat(20_000)}`, /longer than/],
  ],
  'malformed percent-encoding, fragments, over-long keys': [
    ['s3://bucket/100%.json', /malformed percent-encoding/],
    ['s3://bucket/%zz', /malformed percent-encoding/],
    ['s3://bucket/%C3%28', /malformed percent-encoding/],
    ['https://bucket.s3.amazonaws.com/%E2%82', /malformed percent-encoding/],
    ['https://bucket.s3.amazonaws.com/k?versionId=%zz', /malformed percent-encoding in versionId/],
    ['https://bucket.s3.amazonaws.com/key#frag', /fragment/],
    ['s3://bucket/key#frag', /fragment/],
    [`s3://bucket/${'k'.repeat(1025)}`, /longer than 1024 bytes/],
    [`s3://bucket/${'é'.repeat(513)}`, /longer than 1024 bytes/],
    [`s3://bucket/${'%C3%A9'.repeat(513)}`, /longer than 1024 bytes/],
    ['s3://bucket/k?versionId=', /versionId is empty/],
    ['s3://bucket/k?versionId', /versionId is empty/],
    ['s3://bucket/k?versionId=a&versionId=b', /more than one versionId/],
  ],
  'ARNs that are not S3 access points': [
    ['s3://arn:aws:s3:::bucket/key', /only access point ARNs/],
    ['s3://arn:aws:sqs:us-east-1:123456789012:queue/key', /not S3/],
    ['s3://arn:aws:s3:us-west-2:12345678901:accesspoint/my-ap/k', /12 digits/],
    ['s3://arn:aws:s3:us-west-2:123456789012:accesspoint:my-ap/k', /only access point ARNs/],
    ['s3://arn:aws:s3:cn-north-1:123456789012:accesspoint/my-ap/k', /not in partition/],
    ['s3://arn:aws-cn:s3:us-west-2:123456789012:accesspoint/my-ap/k', /not in partition/],
    ['s3://arn:nope:s3:us-west-2:123456789012:accesspoint/my-ap/k', /unknown AWS partition/],
    ['s3://arn:aws:s3:moon-1:123456789012:accesspoint/my-ap/k', /not an AWS region/],
    ['s3://arn:aws:s3:us-west-2:123456789012:accesspoint/My_AP/k', /invalid access point name/],
    ['s3://arn:aws:s3::123456789012:accesspoint/my-ap/k', /Multi-Region Access Point/],
    ['s3://arn:aws:s3', /malformed ARN/],
    ['https://myap.s3-accesspoint.us-west-2.amazonaws.com/k', /<name>-<account id>/],
    ['https://x.myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/k', /<name>-<account id>/],
    ['https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com?versionId=1', /no object key/],
  ],
};

function count(table: Record<string, readonly unknown[]>): number {
  return Object.values(table).reduce((sum, cases) => sum + cases.length, 0);
}

describe('parseS3Url', () => {
  it('is exercised by at least 150 named cases', () => {
    expect(count(accepted) + count(refused)).toBeGreaterThanOrEqual(150);
  });

  for (const [name, cases] of Object.entries(accepted)) {
    describe(`accepts ${name}`, () => {
      it.each(cases)('%s', (input, expected) => {
        expect(parseS3Url(input)).toStrictEqual(expected);
      });
    });
  }

  for (const [name, cases] of Object.entries(refused)) {
    describe(`refuses ${name}`, () => {
      it.each(cases)('%s', (input, reason) => {
        let caught: unknown;
        try {
          parseS3Url(input);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(S3UrlError);
        const error = caught as S3UrlError;
        expect(error.code).toBe('ERR_S3_URL');
        expect(error.input).toBe(input);
        expect(error.reason).toMatch(reason);
        expect(error.message).toContain(error.reason);
      });
    });
  }

  it('never invents a region where the URL names none', () => {
    for (const input of [
      's3://my-bucket/k',
      'https://my-bucket.s3.amazonaws.com/k',
      'https://s3.amazonaws.com/my-bucket/k',
      'https://my-bucket.s3-accelerate.amazonaws.com/k',
      'https://my-bucket.s3-external-1.amazonaws.com/k',
    ]) {
      expect(parseS3Url(input)).not.toHaveProperty('region');
    }
  });

  it('refuses non-string input with an S3UrlError', () => {
    expect(() => parseS3Url(42 as unknown as string)).toThrow(S3UrlError);
    expect(() => parseS3Url(undefined as unknown as string)).toThrow(/expected a string/);
  });

  it('keeps the decoding failure as the cause', () => {
    const error = (() => {
      try {
        parseS3Url('s3://bucket/%zz');
      } catch (e) {
        return e as S3UrlError;
      }
      return undefined;
    })();
    expect(error?.cause).toBeInstanceOf(URIError);
  });

  it('shortens very long inputs in the message but keeps them whole in `input`', () => {
    const input = `s3://bucket/${'k'.repeat(2000)}`;
    const error = (() => {
      try {
        parseS3Url(input);
      } catch (e) {
        return e as S3UrlError;
      }
      return undefined;
    })();
    expect(error?.input).toBe(input);
    expect(error?.message.length).toBeLessThan(400);
  });
});

describe('tryParseS3Url', () => {
  it('returns the parsed URL', () => {
    expect(tryParseS3Url('s3://my-bucket/k')).toStrictEqual({ bucket: 'my-bucket', key: 'k', style: 's3' });
  });

  it('returns undefined where parseS3Url throws', () => {
    expect(tryParseS3Url('https://s3.amazonaws.com.evil.com/b/k')).toBeUndefined();
    expect(tryParseS3Url(null as unknown as string)).toBeUndefined();
  });
});

describe('isValidBucketName', () => {
  it.each(['abc', 'my-bucket', 'my.bucket', 'a1.b2-c3', '1bucket', 'bucket-an', `${'a'.repeat(63)}`])(
    'accepts %s',
    (name) => {
      expect(isValidBucketName(name)).toBe(true);
    },
  );

  it.each([
    'ab',
    'a'.repeat(64),
    'Bucket',
    'my_bucket',
    '-bucket',
    'bucket-',
    'my..bucket',
    '10.0.0.1',
    'xn--abc',
    'sthree-x',
    'amzn-s3-demo-x',
    'x-s3alias',
    'x--ol-s3',
    'x.mrap',
    'x--use1-az4--x-s3',
    'x--table-s3',
    '',
  ])('refuses %s', (name) => {
    expect(isValidBucketName(name)).toBe(false);
  });

  it('refuses non-strings', () => {
    expect(isValidBucketName(undefined as unknown as string)).toBe(false);
  });
});

describe('formatS3Url', () => {
  it('writes s3:// by default', () => {
    expect(formatS3Url({ bucket: 'my-bucket', key: 'a b/c+d.json' })).toBe('s3://my-bucket/a%20b/c%2Bd.json');
  });

  it('writes virtual-hosted and path URLs on the regional endpoint', () => {
    const location = { bucket: 'my-bucket', key: 'k', region: 'eu-west-1' };
    expect(formatS3Url(location, { style: 'virtual-hosted' })).toBe('https://my-bucket.s3.eu-west-1.amazonaws.com/k');
    expect(formatS3Url(location, { style: 'path' })).toBe('https://s3.eu-west-1.amazonaws.com/my-bucket/k');
  });

  it('uses the global endpoint when there is no region, and the China domain for cn- regions', () => {
    expect(formatS3Url({ bucket: 'b-1', key: 'k' }, { style: 'path' })).toBe('https://s3.amazonaws.com/b-1/k');
    expect(formatS3Url({ bucket: 'b-1', key: 'k', region: 'cn-north-1' }, { style: 'virtual-hosted' })).toBe(
      'https://b-1.s3.cn-north-1.amazonaws.com.cn/k',
    );
  });

  it('writes the version id as a query parameter', () => {
    expect(formatS3Url({ bucket: 'b-1', key: 'k', versionId: 'a+b/c' })).toBe('s3://b-1/k?versionId=a%2Bb%2Fc');
  });

  it('writes access points as s3://ARN or as their host', () => {
    const bucket = 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap';
    expect(formatS3Url({ bucket, key: 'k' })).toBe(`s3://${bucket}/k`);
    expect(formatS3Url({ bucket, key: 'k' }, { style: 'virtual-hosted' })).toBe(
      'https://my-ap-123456789012.s3-accesspoint.us-west-2.amazonaws.com/k',
    );
  });

  it.each([
    [{ bucket: 'Bad_Bucket', key: 'k' }, {}, /lowercase/],
    [{ bucket: 'b-1', key: '' }, {}, /no key/],
    [{ bucket: 'b-1', key: 'k'.repeat(1025) }, {}, /1024 bytes/],
    [{ bucket: 'b-1', key: 'k', region: 'moon-1' }, { style: 'path' as const }, /not an AWS region/],
    [{ bucket: 'b-1', key: 'k', region: 'us-east-1' }, {}, /cannot carry a region/],
    [{ bucket: 'b-1', key: '\ud800' }, {}, /not valid Unicode/],
    [{ bucket: 'b-1', key: 'k', versionId: '' }, {}, /non-empty string/],
    [
      { bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap', key: 'k' },
      { style: 'path' as const },
      /path style/,
    ],
    [
      { bucket: 'arn:aws:s3::123456789012:accesspoint/x.mrap', key: 'k' },
      { style: 'virtual-hosted' as const },
      /Multi-Region/,
    ],
    [{ bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap', key: 'k', region: 'eu-west-1' }, {}, /differs/],
    [{ bucket: 'b-1', key: 'k' }, { style: 'ftp' as never }, /unknown style/],
    [null as never, {}, /expected an S3Location/],
  ])('refuses %j %j', (location, options, reason) => {
    expect(() => formatS3Url(location, options)).toThrow(S3UrlError);
    expect(() => formatS3Url(location, options)).toThrow(reason);
  });
});

describe('S3UrlError', () => {
  it('is an S3SyncError recognised by isS3SyncError', () => {
    const error = new S3UrlError({ input: 'x', reason: 'why' });
    expect(error).toBeInstanceOf(S3SyncError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('S3UrlError');
    expect(isS3SyncError(error)).toBe(true);
    expect(isS3SyncError(new Error('plain'))).toBe(false);
    expect(isS3SyncError({ code: 'ERR_S3_URL' })).toBe(false);
    expect(isS3SyncError(null)).toBe(false);
  });

  it('is recognised across copies of the package through a registered brand', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'ERR_S3_URL' });
    Object.defineProperty(foreign, Symbol.for('s3-sqs-sync.error'), { value: true });
    expect(isS3SyncError(foreign)).toBe(true);
  });
});
