/** Help texts: one per command, printed by `--help` and after a usage error's hint. */

export const MAIN_HELP = `Usage: s3-sqs-sync <command> [flags]

Keeps a file in step with an object in Amazon S3, told by Amazon SQS when it changes.

Commands:
  sync                     keep a file in step (runs until SIGTERM or SIGINT)
  parse <url>              print an S3 URL's parts as JSON
  replica-queue create     make this replica's own queue, subscribed to the SNS topic
  replica-queue delete     unsubscribe and delete a replica queue
  replica-queue sweep      remove replica queues whose replicas are gone

Run "s3-sqs-sync <command> --help" for a command's flags, "s3-sqs-sync --version" for the
version. Documentation: docs/cli.md.
`;

export const SYNC_HELP = `Usage: s3-sqs-sync sync (--queue-url URL | --queue-url-file FILE) --target PATH (--source S3_URL | --allow-bucket B) [flags]

Keeps --target in step with S3: fetches the object at start, then on every message the queue
receives. A new version replaces the file atomically, only once it is checked.

What to fetch (a flag wins over its variable, which is then not read; variable names behind
--env-prefix; --source drops the allow-list variables, --allow-bucket/--allow-prefix drop
MCP_REGISTRY_S3_URL and keep the other half of the allow-list):
  --source URL               one fixed object (s3://bucket/key or any S3 URL)  [MCP_REGISTRY_S3_URL]
  --allow-bucket NAME        a bucket messages may name; repeatable  [MCP_REGISTRY_S3_ALLOWED_BUCKETS]
  --allow-prefix PREFIX      a key prefix within them; repeatable  [MCP_REGISTRY_S3_ALLOWED_KEY_PREFIXES]
  --queue-url URL            this replica's own SQS queue  [MCP_REGISTRY_SQS_QUEUE_URL]
  --queue-url-file FILE      read it at start from FILE: the URL alone, or the JSON that
                             "replica-queue create" prints
  --target PATH              the file to keep  [MCP_REGISTRY_JSON_FILE_PATH]
  --reconcile-interval DUR   also check the object this often (e.g. 5m; 0 = off)  [MCP_REGISTRY_RECONCILE_INTERVAL_MS]
  --wait-time-seconds N      SQS long-poll wait, 0-20 (default 20)  [MCP_REGISTRY_SQS_WAIT_TIME_SECONDS]
  --max-bytes SIZE           refuse larger objects (e.g. 64MiB; default 512MiB). Checking JSON takes
                             about 6 times the file's size in memory: fit it to the memory limit
  --expected-bucket-owner ID the 12-digit account id that must own the bucket
  --env-prefix PREFIX        prefix of the variables above (default MCP_REGISTRY_)

Checks before the file is replaced:
  --format json|raw          json (default): parsed and refused if invalid; raw: any bytes
  --schema FILE              a JSON Schema (draft-06/07, 2019-09, 2020-12) the data must match
  --verify-cmd CMD           run on the new file first; non-zero exit refuses it. {path} is the
                             candidate file, passed as one argument (do not quote it)
  --verify-timeout DUR       kill the verify command after this long (default 30s)

After each applied update:
  --exec CMD                 run CMD with sh -c; env S3_SYNC_VERSION, S3_SYNC_ETAG, S3_SYNC_TARGET.
                             One run at a time; updates during a run cause one more run after it
  --exec-timeout DUR         kill the --exec command (and its children) after this long (default 60s)
  --signal NAME              HUP, USR1, USR2 or WINCH, sent to --pid or the pid in --pid-file
  --pid-file PATH            read the process id from this file at each update
  --pid N                    a fixed process id

Operation:
  --health-port N            serve GET /health (200 ready, 503 otherwise), GET /ready (200 while
                             a good file is served, even degraded) and GET /metrics
  --health-host HOST         address to listen on (default 127.0.0.1; 0.0.0.0 for kubelet probes)
  --log-format json|pretty   JSON lines (default) or readable lines for a terminal
  --log-level LEVEL          debug, info (default), warn or error
  --stop-timeout DUR         on SIGTERM, how long a running update may finish (default 30s)
  -h, --help                 this text

AWS region, credentials and endpoints come from the AWS SDK's own variables and files
(AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS, ...).
Exit codes: 0 stopped by SIGTERM/SIGINT; 1 failed at start or while running; 2 bad flags or target directory.
`;

export const PARSE_HELP = `Usage: s3-sqs-sync parse <url>

Prints the S3 location a URL names as JSON: { bucket, key, region?, versionId?, style }.
Accepts s3:// URLs, virtual-hosted and path-style HTTPS URLs, access point ARNs.
Exit code 1, with the reason on stderr, when the URL is not an S3 object URL.
`;

export const REPLICA_HELP = `Usage: s3-sqs-sync replica-queue <create|delete|sweep> [flags]

  create --topic-arn ARN [--prefix P] [--replica-id ID]
      Makes a queue that only the topic may send to and subscribes it (raw delivery).
      Prints { queueUrl, queueArn, queueName, replicaId, topicArn, subscriptionArn } as JSON
      (write it to a file for sync --queue-url-file and delete --queue-url-file).
  delete (--queue-url URL | --queue-url-file FILE) [--subscription-arn ARN]
      Unsubscribes (when given, or named in the file) and deletes the queue. A queue or
      subscription already gone is fine. A file holding a URL alone needs --subscription-arn.
  sweep --older-than-ms N [--prefix P] [--topic-arn ARN] [--dry-run]
      Removes replica queues whose last heartbeat is older than N ms (at least 60000), with their
      subscriptions. Prints { removed, kept, ignored, failed } as JSON. sync refreshes its replica
      queue's heartbeat every 5 minutes: give N well above that (900000 or more).

Uses the AWS SDK's own region, credential and endpoint variables.
`;
