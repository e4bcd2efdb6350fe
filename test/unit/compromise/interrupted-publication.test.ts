/**
 * A detector that dies mid-publication (after its first card-at-risk alert, before the finding is stored) and a new
 * one that sees the same labels again plus more: the redo must republish exactly what was decided, even though the
 * grown evidence now gives the point a wider window and other numbers. Without the written publication, the card
 * alerts came back with the same ids and the new window's text (CI caught it on the real broker, once in a few runs).
 */
import type { AlertMessage } from '../../../src/contract/schemas';
import { cardTokenizer } from '../../../src/contract/card';
import { toCardLabel, toCardTransaction } from '../../../src/contract/transaction';
import { CardHistoryLog } from '../../../src/compromise/card-history';
import { CompromiseDetector, DEFAULT_DETECTOR_SETTINGS } from '../../../src/compromise/detector';
import { createMemoryCompromiseStore } from '../../../src/compromise/memory-store';
import { Telemetry } from '../../../src/telemetry/events';
import { SKIMMED_VICTIMS, scenario } from '../../integration/compromise/support';
import { TEST_HMAC_KEY } from '../../support/service';
import { testToken } from '../../support/traffic';

const tokenize = cardTokenizer(TEST_HMAC_KEY);
/** What must be the same in every copy of one alert id (createdAt is when that copy was made). */
const content = ({ createdAt: _createdAt, ...rest }: AlertMessage) => JSON.stringify(rest);

class Crash extends Error {}

test('a publication a crash interrupted is carried out as decided, then the grown finding supersedes it', async () => {
  const world = scenario('redo');
  const history = new CardHistoryLog();
  const store = createMemoryCompromiseStore({ retentionMs: DEFAULT_DETECTOR_SETTINGS.retentionMs });
  const txns = world.transactions.map((m) => toCardTransaction(m, tokenize, 'KZT'));
  history.record(txns);
  await store.recordVisits(txns);
  const labels = world.labels.map((m) => toCardLabel(m, tokenize));
  // The first delivery: four of the six skimmed victims (enough to flag the terminal, over a narrower window).
  const victimTokens = new Set(SKIMMED_VICTIMS.map(testToken));
  const firstFour = labels.filter((l) => victimTokens.has(l.cardToken)).slice(0, 4);

  const published: AlertMessage[] = [];
  const detector = (crashOnWarning: boolean) =>
    new CompromiseDetector({
      store,
      history: async (token) => history.history(token),
      alerts: {
        publish: async (alerts) => {
          published.push(...alerts);
          if (crashOnWarning && alerts.some((a) => a.type === 'card-at-risk')) throw new Crash('killed after the first warnings reached the topic');
        },
      },
      telemetry: new Telemetry(),
      now: Date.now,
      settings: DEFAULT_DETECTOR_SETTINGS,
    });

  await expect(detector(true).onLabels(firstFour, history.recordLabels(firstFour))).rejects.toBeInstanceOf(Crash);
  const beforeCrash = published.filter((a) => a.type === 'card-at-risk');
  expect(beforeCrash.length).toBeGreaterThan(0);

  // The redelivered labels and the rest, to a new detector on the same state.
  await detector(false).onLabels(labels, history.recordLabels(labels));

  const contentOf = new Map<string, string>();
  for (const alert of published) {
    const known = contentOf.get(alert.alertId);
    if (known === undefined) contentOf.set(alert.alertId, content(alert));
    else expect(content(alert)).toBe(known);
  }
  const points = published.filter((a) => a.type === 'compromised-point');
  expect(new Set(points.map((a) => a.findingId)).size).toBe(1);
  // The evidence grew: a later revision supersedes the interrupted one, whose window it contains.
  expect(points.length).toBeGreaterThan(1);
  const [first, last] = [points[0]!, points[points.length - 1]!];
  expect(last.supersedes).toBeDefined();
  expect(Date.parse(last.window!.from)).toBeLessThanOrEqual(Date.parse(first.window!.from));
  const warningIds = new Map<string, Set<string>>();
  for (const w of published.filter((a) => a.type === 'card-at-risk')) warningIds.set(w.cardToken!, (warningIds.get(w.cardToken!) ?? new Set()).add(w.alertId));
  expect([...warningIds.values()].every((ids) => ids.size === 1)).toBe(true);
  expect(await store.unfinishedPublications()).toEqual([]);
});
