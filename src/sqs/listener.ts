import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { HandlerTimeoutError, type HeartbeatError, StopDeadlineError } from '../errors.ts';
import { TypedEvents } from '../events.ts';
import { checkOptionalPositive } from '../validate.ts';
import { pause, receiveBackoffMs, retryDelayFor } from './delays.ts';
import { BatchDeleter } from './deleter.ts';
import { Heartbeat } from './heartbeat.ts';
import { CUT, invokeHandler, type Outcome } from './invoke.ts';
import { ReceiveRecord, SafeLogger } from './report.ts';
import { type ListenerSettings, listenerSettings } from './settings.ts';
import type {
  HandBackReason,
  HandlerContext,
  MessageInfo,
  SqsListenerEventMap,
  SqsListenerHealth,
  SqsListenerOptions,
  SqsListenerStatus,
  StopOptions,
  StopResult,
} from './types.ts';
import { makeVisibleNow } from './visibility.ts';

export { defaultRetryDelaySeconds } from './delays.ts';

const DEFAULT_STOP_TIMEOUT_MS = 30_000;

/** One received message, from receive until its outcome is decided. */
interface Entry {
  readonly message: Message;
  readonly info: MessageInfo;
  readonly controller: AbortController;
  heartbeat: Heartbeat;
  /** The handler's outcome, once it has started; never rejects. */
  running?: Promise<Outcome>;
  /** Stops waiting for the handler (its timeout, or `stop()`'s deadline). */
  cut?: () => void;
  /** Its slot was given up: the outcome is decided, or the message was handed back. */
  released: boolean;
  handedBack: boolean;
}

/**
 * A long-polling SQS consumer with a bound on handlers in flight and no head-of-line blocking:
 * a free slot is refilled at once. Messages are kept invisible while held (heartbeat), deleted
 * in batches only after their handler resolves, and made visible again after a retry delay when
 * it fails. On a FIFO queue the messages of one group run one after another. `stop()` aborts
 * the open poll, lets handlers finish until a deadline, hands back the messages of those that do
 * not, flushes deletes, and resolves.
 *
 * Delivery is at least once: a message can be handled twice (a handler outliving
 * `maxExtensionSeconds`, a failed delete, a crash), so handlers must be idempotent.
 */
export class SqsListener extends TypedEvents<SqsListenerEventMap> {
  readonly #s: ListenerSettings;
  readonly #logger: SafeLogger;
  readonly #deleter: BatchDeleter;
  readonly #inFlight = new Set<Entry>();
  /** Handlers still running whose outcome no longer counts; they outlive stop() and start(). */
  readonly #abandoned = new Set<Promise<Outcome>>();
  /** Work after a handler's outcome (deletes, retry delays, hand-backs) that stop() waits for. */
  readonly #settling = new Set<Promise<unknown>>();
  #waiters: (() => void)[] = [];
  #status: SqsListenerStatus = 'idle';
  #polling = new AbortController();
  #loop: Promise<void> | undefined;
  #stopping: Promise<StopResult> | undefined;
  readonly #receives = new ReceiveRecord();

  constructor(options: SqsListenerOptions) {
    super();
    this.#s = listenerSettings(options);
    this.#logger = new SafeLogger(options.logger);
    this.setListenerErrorReporter(this.#logger.reportListenerError);
    this.#deleter = new BatchDeleter(this.#s.client, this.#s.queueUrl);
  }

  /** Where the listener is: `idle`, `running`, `stopping` or `stopped`. */
  get status(): SqsListenerStatus {
    return this.#status;
  }

  /** Messages held now: handlers running, and on a FIFO queue messages waiting for their group. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Abandoned handlers (timed out, or running at `stop()`'s deadline) that still run. */
  get abandoned(): number {
    return this.#abandoned.size;
  }

  /** Plain, JSON-safe data for a `/health` endpoint: is the listener receiving, and is it stuck? */
  health(): SqsListenerHealth {
    return {
      status: this.#status,
      degraded: this.#status === 'running' && (this.#receives.failures > 0 || this.#abandoned.size > 0),
      ...this.#receives.health(),
      inFlight: this.#inFlight.size,
      abandoned: this.#abandoned.size,
    };
  }

  /** Starts polling. Safe to call twice; after `stop()` has resolved, starts again. */
  start(): void {
    if (this.#status === 'running') return;
    if (this.#status === 'stopping') throw new Error('SqsListener is stopping: await stop() before start()');
    this.#status = 'running';
    this.#stopping = undefined;
    this.#polling = new AbortController();
    this.#logger.log('info', { queueUrl: this.#s.queueUrl }, 'listener started');
    this.emit('started');
    this.#loop = this.#poll(this.#polling.signal).catch((error: unknown) => {
      // Not expected (every receive failure is caught inside); if it happens, health() says so.
      this.#receives.failed(error);
      this.#logger.log('error', { err: error }, 'the poll loop failed');
    });
  }

  /**
   * Stops: aborts the open long poll at once, lets running handlers finish until `timeoutMs`,
   * then aborts their signals and hands their messages back (visibility 0), flushes pending
   * deletes, emits `stopped` and resolves with how many messages were handed back and how many
   * abandoned handlers still run. Calling it again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<StopResult> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#status !== 'running') return Promise.resolve({ handedBack: 0, abandoned: this.#abandoned.size });
    checkOptionalPositive('timeoutMs', options.timeoutMs, false);
    this.#status = 'stopping';
    this.#polling.abort();
    this.#notify();
    this.#stopping = this.#drain(options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    return this.#stopping;
  }

  async #drain(timeoutMs: number): Promise<StopResult> {
    await this.#loop;
    let handedBack = 0;
    if (this.#inFlight.size > 0) {
      let expired = false;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          expired = true;
          resolve();
        }, timeoutMs);
      });
      while (this.#inFlight.size > 0 && !expired) await Promise.race([this.#changed(), deadline]);
      clearTimeout(timer);
      if (this.#inFlight.size > 0) {
        const rest = [...this.#inFlight];
        handedBack = rest.length;
        await this.#handBack(rest, 'stop_deadline');
      }
    }
    while (this.#settling.size > 0) await Promise.all(this.#settling);
    await this.#deleter.flush();
    this.#status = 'stopped';
    const result: StopResult = { handedBack, abandoned: this.#abandoned.size };
    this.#logger.log('info', { queueUrl: this.#s.queueUrl, ...result }, 'listener stopped');
    this.emit('stopped', result);
    return result;
  }

  /** Resolves at the next change of the slots (a release, an abandoned handler settling, stop). */
  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #notify(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Slots for new messages. Abandoned handlers still running take slots, so stuck handlers
   * cannot pile up past `concurrency` (nor can a restart add a second set beside them), but
   * never the last one: a handler that ignores its signal slows the listener, never stalls it.
   */
  #capacity(): number {
    return Math.max(1, this.#s.concurrency - this.#abandoned.size);
  }

  async #poll(signal: AbortSignal): Promise<void> {
    // FIFO: a receive retried after a failure reuses its attempt id, so SQS returns the messages
    // the lost answer held instead of leaving them invisible until their timeout.
    let attemptId: string | undefined;
    while (!signal.aborted) {
      while (!signal.aborted && this.#inFlight.size >= this.#capacity()) await this.#changed();
      if (signal.aborted) break;
      const room = Math.min(this.#s.batchSize, this.#capacity() - this.#inFlight.size);
      if (this.#s.fifo) attemptId ??= randomUUID();
      let messages: Message[];
      try {
        const output = await this.#s.client.send(
          new ReceiveMessageCommand({
            ...this.#s.receiveInput,
            MaxNumberOfMessages: room,
            ...(attemptId === undefined ? {} : { ReceiveRequestAttemptId: attemptId }),
          }),
          { abortSignal: signal },
        );
        messages = output.Messages ?? [];
        attemptId = undefined;
        this.#receives.succeeded();
      } catch (error) {
        if (signal.aborted) break;
        const failures = this.#receives.failed(error);
        const backoffMs = receiveBackoffMs(error, failures, this.#s.backoffMinMs, this.#s.backoffMaxMs);
        this.#logger.log('warn', { err: error, backoffMs, failures }, 'receive failed');
        this.emit('receive_error', error, backoffMs);
        await pause(backoffMs, signal);
        continue;
      }
      if (messages.length === 0) {
        this.emit('empty');
        // A short poll answers at once: without a rest an empty queue is polled back to back.
        if (this.#s.waitTimeSeconds === 0) await pause(this.#s.emptyReceiveDelayMs, signal);
        continue;
      }
      this.#dispatch(messages);
    }
  }

  #dispatch(messages: Message[]): void {
    const entries = messages.map((message) => this.#hold(message));
    if (!this.#s.fifo) {
      for (const entry of entries) this.#track(this.#process(entry));
      return;
    }
    // SQS returns a group's messages in order; they must also be handled in order.
    const groups = new Map<string, Entry[]>();
    for (const entry of entries) {
      const key = entry.info.groupId ?? '';
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [entry]);
      else group.push(entry);
    }
    for (const group of groups.values()) this.#track(this.#runGroup(group));
  }

  #hold(message: Message): Entry {
    const messageId = message.MessageId ?? '';
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1;
    const groupId = message.Attributes?.MessageGroupId;
    const info: MessageInfo =
      groupId === undefined ? { messageId, receiveCount } : { messageId, receiveCount, groupId };
    const entry = { message, info, controller: new AbortController(), released: false, handedBack: false } as Entry;
    entry.heartbeat = new Heartbeat(this.#s.heartbeat, message.ReceiptHandle, messageId, {
      extended: () => this.emit('visibility_extended', message, this.#s.visibilityTimeout, info),
      failed: (error) => this.#heartbeatFailed(entry, error),
    });
    this.#inFlight.add(entry);
    this.emit('message_received', message, info);
    return entry;
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.then(undefined, (error: unknown) => {
      this.#logger.log('error', { err: error }, 'unexpected failure in the listener');
    });
    this.#settling.add(tracked);
    void tracked.finally(() => this.#settling.delete(tracked));
  }

  /** FIFO: one message after the other; the next starts once the previous one is deleted. */
  async #runGroup(group: Entry[]): Promise<void> {
    for (let i = 0; i < group.length; i++) {
      // Handling the rest now would put them before the one that failed: give them back, before
      // its retry delay is set (an emulator puts a returned message at the head of its group).
      const handBackRest = async () => {
        const rest = group.slice(i + 1).filter((entry) => !entry.released);
        if (rest.length > 0) await this.#handBack(rest, 'group_failed');
      };
      if (await this.#process(group[i] as Entry, handBackRest)) continue;
      await handBackRest();
      return;
    }
  }

  /** Runs one message's handler and settles its outcome; true when it was handled and deleted. */
  async #process(entry: Entry, beforeRetry?: () => Promise<void>): Promise<boolean> {
    if (entry.released) return false;
    const { signal } = entry.controller;
    // The heartbeat gave up while the message waited for its group.
    if (signal.aborted) return this.#fail(entry, signal.reason, beforeRetry);
    const result = await this.#invoke(entry);
    if (entry.handedBack) return false;
    if (result === CUT) {
      this.#abandon(entry);
      return this.#fail(entry, signal.reason, beforeRetry);
    }
    if (!result.ok) return this.#fail(entry, result.error, beforeRetry);
    // A handler that resolved after its signal was aborted is not trusted with a delete.
    if (signal.aborted) return this.#fail(entry, signal.reason, beforeRetry);
    return this.#succeed(entry);
  }

  #invoke(entry: Entry): Promise<Outcome | typeof CUT> {
    const { message, info, controller } = entry;
    const context: HandlerContext = { signal: controller.signal, receiveCount: info.receiveCount };
    const timeoutMs = this.#s.handlerTimeoutMs;
    const invocation = invokeHandler(this.#s.handleMessage, message, context, timeoutMs, () => {
      controller.abort(
        new HandlerTimeoutError(`Handler timed out after ${timeoutMs} ms`, {
          messageId: info.messageId,
          timeoutMs: timeoutMs ?? 0,
        }),
      );
    });
    entry.running = invocation.running;
    entry.cut = invocation.cut;
    return invocation.result;
  }

  /** Stops waiting for a running handler: it no longer holds its message, only a slot. */
  #abandon(entry: Entry): void {
    const running = entry.running;
    if (running === undefined) return;
    this.#abandoned.add(running);
    void running.then((outcome) => {
      this.#abandoned.delete(running);
      this.#logger.log(
        'warn',
        { messageId: entry.info.messageId, ok: outcome.ok },
        'an abandoned handler settled; its outcome is ignored',
      );
      this.#notify();
    });
  }

  #release(entry: Entry): void {
    if (entry.released) return;
    entry.released = true;
    this.#inFlight.delete(entry);
    this.#notify();
  }

  async #succeed(entry: Entry): Promise<boolean> {
    this.#release(entry);
    void entry.heartbeat.stop();
    const { deleted, error } = await this.#deleter.add(entry.message, this.#s.fifo);
    if (deleted) {
      this.emit('message_processed', entry.message, entry.info);
      return true;
    }
    this.#logger.log('warn', { err: error, messageId: entry.info.messageId }, 'delete failed');
    this.emit('delete_error', error, entry.message, entry.info);
    return false;
  }

  async #fail(entry: Entry, error: unknown, beforeRetry?: () => Promise<void>): Promise<false> {
    this.#release(entry);
    // The heartbeat must not overwrite the retry delay: stop it, and wait for a call in flight.
    await entry.heartbeat.stop();
    const { message, info } = entry;
    const delaySeconds = this.#retryDelay(info.receiveCount, error);
    this.#logger.log('warn', { err: error, messageId: info.messageId, delaySeconds }, 'handler failed');
    this.emit('processing_error', error, message, delaySeconds, info);
    await beforeRetry?.();
    try {
      await this.#s.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#s.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      );
    } catch (changeError) {
      // The message still comes back when its current visibility timeout runs out.
      this.#logger.log('warn', { err: changeError, messageId: info.messageId }, 'could not set the retry delay');
    }
    return false;
  }

  #retryDelay(receiveCount: number, error: unknown): number {
    return retryDelayFor(this.#s.retryDelaySeconds, receiveCount, error, (fields, text) =>
      this.#logger.log('warn', fields, text),
    );
  }

  #heartbeatFailed(entry: Entry, error: HeartbeatError): void {
    this.#logger.log('warn', { err: error, messageId: entry.info.messageId }, 'heartbeat stopped');
    this.emit('heartbeat_error', error, entry.message, entry.info);
    if (!entry.controller.signal.aborted) entry.controller.abort(error);
  }

  /** Makes messages visible again at once (visibility 0), unhandled, in receive order. */
  async #handBack(entries: Entry[], reason: HandBackReason): Promise<void> {
    for (const entry of entries) {
      entry.handedBack = true;
      this.#release(entry);
      if (reason === 'stop_deadline' && !entry.controller.signal.aborted) {
        entry.controller.abort(
          new StopDeadlineError('stop() deadline reached: message handed back', { messageId: entry.info.messageId }),
        );
      }
      entry.cut?.();
      this.#abandon(entry);
    }
    await Promise.all(entries.map((entry) => entry.heartbeat.stop()));
    for (const entry of entries) this.emit('message_handed_back', entry.message, reason, entry.info);
    const failures = await makeVisibleNow(
      this.#s.client,
      this.#s.queueUrl,
      entries.map((entry) => entry.message),
    );
    for (const { message, error } of failures) {
      this.#logger.log('warn', { err: error, messageId: message.MessageId }, 'handing a message back failed');
    }
  }
}
