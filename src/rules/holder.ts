/**
 * The filesystem edge of the rules: loads RULES_FILE (and its list files), watches their directories, and swaps a
 * newly compiled version in with one assignment, so a transaction is always evaluated by exactly one whole version.
 * 'rules.reloaded' is emitted for every version that starts serving, the first included. A file that fails to
 * compile is rejected: the previous version keeps serving, the error is logged and 'rules.reload_rejected' is emitted. Only the first load may fail the caller: the service must not start without
 * rules.
 *
 * The directory is watched, not the file: a Kubernetes ConfigMap volume updates by writing a new timestamped
 * directory and renaming the `..data` symlink over the old one, so the file's own inode never changes and a watch on
 * it would see nothing; editors that save by rename replace the inode the same way. Several events arrive for one
 * change, hence the debounce, and a content fingerprint turns events that change nothing into no reload at all.
 */
import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Telemetry } from '../telemetry/events';
import type { Logger } from '../telemetry/logger';
import { compileRuleSet, type RuleSet, type RuleSetDescription } from './compile';
import { RuleSetError } from './errors';
import type { ListRegistry } from './lists';

export interface RulesHolderOptions {
  /** RULES_FILE. List files are resolved against its directory. */
  file: string;
  /** FEATURE_INDEX of src/state/features.ts. */
  featureIndex: Readonly<Record<string, number>>;
  telemetry: Telemetry;
  logger: Logger;
  /** Supplies lists declared `external: true`. */
  lists?: ListRegistry;
  /** Quiet time after the last file event before reloading. Default 250 ms. */
  debounceMs?: number;
  /** Watch for changes. Default true; false for one-shot tools (evaluate, simulate). */
  watch?: boolean;
}

export type ReloadOutcome =
  | { status: 'reloaded'; version: string; previousVersion: string }
  | { status: 'unchanged'; version: string }
  | { status: 'rejected'; error: Error; servingVersion: string };

export interface RulesStatus {
  file: string;
  version: string;
  loadedAt: string;
  lastRejection?: { at: string; error: string };
}

export interface RulesHolder {
  /** The version serving now. Take it once per batch so a batch is decided by one version. */
  current(): RuleSet;
  /** Reloads now (the file watcher calls this too); concurrent calls run one after another. */
  reload(): Promise<ReloadOutcome>;
  status(): RulesStatus;
  /** For GET /v1/rules: the active version, its rules and lists, when it was loaded, the last rejected file. */
  describe(): RuleSetDescription & { status: RulesStatus };
  close(): void;
}

interface LoadedVersion {
  ruleSet: RuleSet;
  fingerprint: string;
  directories: Set<string>;
}

const DEFAULT_DEBOUNCE_MS = 250;

/** Loads and compiles the rule file; throws RuleSetError when the first version is unusable. */
export async function createRulesHolder(options: RulesHolderOptions): Promise<RulesHolder> {
  const first = await loadVersion(options);
  const holder = new FileRulesHolder(options, first);
  if (options.watch ?? true) holder.watchDirectories(first.directories);
  // Every version that starts serving is announced, the first included: the metrics' active-version gauge hangs on it.
  options.telemetry.emit('rules.reloaded', { version: first.ruleSet.version });
  return holder;
}

async function loadVersion(options: RulesHolderOptions): Promise<LoadedVersion> {
  const file = resolve(options.file);
  const baseDirectory = dirname(file);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    throw new RuleSetError(`cannot read the rule file: ${(error as Error).message}`, { sourceName: options.file });
  }
  const fingerprint = createHash('sha256').update(source);
  const directories = new Set([baseDirectory]);
  const ruleSet = compileRuleSet(source, {
    featureIndex: options.featureIndex,
    lists: options.lists,
    sourceName: options.file,
    // Synchronous on purpose: the compiler is synchronous and reloads are rare; a list file of a few MB costs a
    // few milliseconds of event loop once per change.
    readListFile: (path) => {
      const listFile = resolve(baseDirectory, path);
      const text = readFileSync(listFile, 'utf8');
      fingerprint.update(`\0${path}\0${text}`);
      directories.add(dirname(listFile));
      return text;
    },
  });
  return { ruleSet, fingerprint: fingerprint.digest('hex'), directories };
}

class FileRulesHolder implements RulesHolder {
  private active: LoadedVersion;
  private loadedAt = new Date();
  private lastRejection: RulesStatus['lastRejection'];
  private readonly watchers = new Map<string, FSWatcher>();
  private debounce: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly options: RulesHolderOptions,
    first: LoadedVersion,
  ) {
    this.active = first;
  }

  current(): RuleSet {
    return this.active.ruleSet;
  }

  reload(): Promise<ReloadOutcome> {
    const outcome = this.queue.then(() => this.reloadNow());
    // A reload that threw (a telemetry listener's bug) must not wedge every later reload behind it.
    this.queue = outcome.then(
      () => undefined,
      () => undefined,
    );
    return outcome;
  }

  status(): RulesStatus {
    return {
      file: this.options.file,
      version: this.active.ruleSet.version,
      loadedAt: this.loadedAt.toISOString(),
      ...(this.lastRejection ? { lastRejection: this.lastRejection } : {}),
    };
  }

  describe(): RuleSetDescription & { status: RulesStatus } {
    return { ...this.active.ruleSet.describe(), status: this.status() };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Watches exactly these directories: the rule file's and those of the list files the active version read. */
  watchDirectories(directories: ReadonlySet<string>): void {
    if (this.closed) return;
    for (const [directory, watcher] of this.watchers) {
      if (!directories.has(directory)) {
        watcher.close();
        this.watchers.delete(directory);
      }
    }
    for (const directory of directories) {
      if (this.watchers.has(directory)) continue;
      // persistent: false — watching the rules must never be what keeps a stopping process alive.
      const watcher = watch(directory, { persistent: false }, () => this.scheduleReload());
      watcher.on('error', (error) => this.options.logger.error({ err: error, directory }, 'rule file watch failed; reload through the API until restart'));
      this.watchers.set(directory, watcher);
    }
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.reload();
    }, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Never rejects: a failed reload is an outcome (logged, counted), and the active version stays. */
  private async reloadNow(): Promise<ReloadOutcome> {
    const { logger, telemetry } = this.options;
    const serving = this.active.ruleSet.version;
    if (this.closed) return { status: 'unchanged', version: serving };
    let next: LoadedVersion;
    try {
      next = await loadVersion(this.options);
    } catch (error) {
      if (this.closed) return { status: 'unchanged', version: serving };
      const err = error instanceof Error ? error : new Error(String(error));
      this.lastRejection = { at: new Date().toISOString(), error: err.message };
      logger.error({ err, file: this.options.file, servingVersion: serving }, `rule file rejected; version ${serving} keeps serving`);
      telemetry.emit('rules.reload_rejected', { error: err.message });
      return { status: 'rejected', error: err, servingVersion: serving };
    }
    if (this.closed) return { status: 'unchanged', version: serving };
    if (next.fingerprint === this.active.fingerprint) {
      // The file on disk is valid again (a bad edit was reverted): the rejection no longer describes it.
      this.lastRejection = undefined;
      return { status: 'unchanged', version: serving };
    }
    this.active = next;
    this.loadedAt = new Date();
    this.lastRejection = undefined;
    this.watchDirectories(next.directories);
    logger.info({ file: this.options.file, version: next.ruleSet.version, previousVersion: serving, rules: next.ruleSet.rules.length }, 'rules reloaded');
    telemetry.emit('rules.reloaded', { version: next.ruleSet.version });
    return { status: 'reloaded', version: next.ruleSet.version, previousVersion: serving };
  }
}
