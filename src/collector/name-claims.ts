import { exposedNames, type MetricType } from '../format/names.js';

/**
 * Who serves each name of an exposition. Two families whose names meet
 * (exposedNames(): a counter `a` and a gauge `a_total`, a histogram `a` and
 * a summary `a_sum`) cannot both be served: a parser would read the second
 * one's lines as the first's. The family met first keeps the names.
 */

/** A family that holds an exposed name, and the name. */
export interface NameHolder {
  family: string;
  type: MetricType;
  name: string;
}

/**
 * Which family holds each exposed name: the first that claimed it. Two
 * families whose names meet (exposedNames()) cannot both be served.
 */
export class ExposedNameClaims {
  private readonly holders = new Map<string, { family: string; type: MetricType }>();

  /** The family that holds one of the names a new family `family` would expose, if one does. */
  holder(family: string, type: MetricType): NameHolder | undefined {
    for (const name of exposedNames(type, family)) {
      const holder = this.holders.get(name);
      if (holder) return { ...holder, name };
    }
    return undefined;
  }

  /** Gives `family` its names; call only when holder() found none. */
  claim(family: string, type: MetricType): void {
    for (const name of exposedNames(type, family)) this.holders.set(name, { family, type });
  }

  /** Takes back the names claim() gave `family`. */
  release(family: string, type: MetricType): void {
    for (const name of exposedNames(type, family)) this.holders.delete(name);
  }
}
