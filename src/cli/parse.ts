/** Flag parsers shared by commands; each throws commander's InvalidArgumentError with the reason. */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('must be an integer between 0 and 65535');
  return port;
}
