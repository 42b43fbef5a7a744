import { fileURLToPath } from 'node:url';

/** The scenario files in loadtest/scenarios/, by name. */
export const SCENARIOS = ['smoke', 'mixed', 'scale-up'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

export function scenarioFile(name: ScenarioName): string {
  return fileURLToPath(new URL(`../scenarios/${name}.yml`, import.meta.url));
}
