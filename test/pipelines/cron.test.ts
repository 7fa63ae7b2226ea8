import assert from 'node:assert/strict';
import { it } from 'node:test';
import { cronMatches, nextCronTick, parseCron } from '../../src/pipelines/cron.js';

const at = (s: string) => Date.parse(`${s}Z`);

it('finds the next tick of steps, ranges, lists and names', () => {
  assert.equal(nextCronTick(parseCron('*/15 * * * *'), at('2030-01-01T10:07:30')), at('2030-01-01T10:15:00'));
  assert.equal(nextCronTick(parseCron('0 9-17/4 * * mon-fri'), at('2030-01-04T17:00:00')), at('2030-01-07T09:00:00'));
  assert.equal(nextCronTick(parseCron('30 2 1 jan,jul *'), at('2030-01-01T02:30:00')), at('2030-07-01T02:30:00'));
  assert.equal(nextCronTick(parseCron('0 0 29 2 *'), at('2030-03-01T00:00:00')), at('2032-02-29T00:00:00'));
});

it('matches either day field when both are restricted, and 7 is Sunday', () => {
  const c = parseCron('0 0 1 * 7');
  assert.equal(cronMatches(c, new Date(at('2030-01-06T00:00:00'))), true); // a Sunday
  assert.equal(cronMatches(c, new Date(at('2030-02-01T00:00:00'))), true); // the 1st, a Friday
  assert.equal(cronMatches(c, new Date(at('2030-02-02T00:00:00'))), false);
});

it('rejects malformed expressions', () => {
  for (const bad of ['* * * *', '60 * * * *', '*/0 * * * *', '5-1 * * * *', 'x * * * *']) assert.throws(() => parseCron(bad), /cron/, bad);
});

it('reads the fields in the time zone given, across daylight saving time', () => {
  const madrid = parseCron('0 3 * * *', 'Europe/Madrid');
  assert.equal(nextCronTick(madrid, at('2030-01-01T00:00:00')), at('2030-01-01T02:00:00')); // CET, UTC+1
  assert.equal(nextCronTick(madrid, at('2030-07-01T00:00:00')), at('2030-07-01T01:00:00')); // CEST, UTC+2
  assert.equal(cronMatches(madrid, new Date(at('2030-01-01T02:00:00'))), true);
  assert.equal(cronMatches(madrid, new Date(at('2030-01-01T03:00:00'))), false);
  assert.equal(nextCronTick(parseCron('0 3 * * *'), at('2030-07-01T00:00:00')), at('2030-07-01T03:00:00'), 'UTC by default');
});

it('takes the common aliases and refuses seconds and unknown time zones', () => {
  assert.equal(nextCronTick(parseCron('@daily'), at('2030-01-01T10:07:30')), at('2030-01-02T00:00:00'));
  assert.throws(() => parseCron('0 0 3 * * *'), /must have 5 fields/);
  assert.throws(() => parseCron('0 3 * * *', 'Mars/Olympus'), /time zone "Mars\/Olympus" is not an IANA time zone/);
});
