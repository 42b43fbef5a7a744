// The project's artillery scenario, compressed like the rest of the rehearsal: every phase's duration divided by
// the factor, every arrival rate multiplied by the rate scale (the rehearsal's instances are that share of a real
// one, so the same CPU per instance takes that share of the requests). Everything else (flows, think times,
// timeouts, `ensure` thresholds) is the scenario as written.
import { parse, stringify } from 'yaml';

interface Phase {
  name?: string;
  duration: number;
  arrivalRate?: number;
  rampTo?: number;
  arrivalCount?: number;
  [key: string]: unknown;
}

export class ScenarioShapeError extends Error {
  override name = 'ScenarioShapeError';
}

/** artillery plays a phase second by second: a compressed phase keeps at least one whole second. */
export function compressPhases(phases: Phase[], factor: number, rateScale: number): Phase[] {
  return phases.map((phase) => {
    if (typeof phase.duration !== 'number') {
      throw new ScenarioShapeError(`phase ${phase.name ?? '?'}: the rehearsal needs durations in seconds`);
    }
    const compressed: Phase = { ...phase, duration: Math.max(1, Math.round(phase.duration / factor)) };
    if (phase.arrivalRate !== undefined && phase.rampTo !== undefined) {
      compressed.arrivalRate = phase.arrivalRate * rateScale;
      compressed.rampTo = phase.rampTo * rateScale;
    } else if (phase.arrivalRate !== undefined) {
      // artillery splits a constant arrivalRate between its workers and wants a whole number; the same arrivals
      // as a count are spread evenly over the phase.
      const rate = phase.arrivalRate * rateScale;
      if (!Number.isInteger(rate)) {
        delete compressed.arrivalRate;
        compressed.arrivalCount = Math.max(1, Math.round(rate * compressed.duration));
      } else compressed.arrivalRate = rate;
    }
    if (phase.arrivalCount !== undefined)
      compressed.arrivalCount = Math.max(1, Math.round((phase.arrivalCount * rateScale) / factor));
    return compressed;
  });
}

export function compressScenario(
  text: string,
  factor: number,
  rateScale: number,
): { text: string; awsSeconds: number } {
  const document = parse(text) as { config?: { phases?: Phase[] } };
  const phases = document.config?.phases;
  if (!Array.isArray(phases) || phases.length === 0)
    throw new ScenarioShapeError('the scenario has no config.phases');
  const compressed = compressPhases(phases, factor, rateScale);
  const awsSeconds = phases.reduce((sum, p) => sum + p.duration, 0);
  return { text: stringify({ ...document, config: { ...document.config, phases: compressed } }), awsSeconds };
}
