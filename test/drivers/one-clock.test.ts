// Several migrations on one clock: the loop runs each core against its own simulated world on a shared
// Simulator. When they share nothing, each gives the record it gives alone (its times measured from its
// own start), whatever else runs on the clock and whenever it started.
import { describe, expect, it } from 'vitest';
import { newWorld, resolveFaults, SimMigration, simulate, toResult } from '../../src/drivers/sim/index.js';
import { resolveScenario, type ScenarioInput } from '../../src/scenario.js';
import { Simulator } from '../../src/sim/index.js';

const A: ScenarioInput = { memory: '2GiB', workload: 'oltp', network: '10g', transport: 'tcp' };
const B: ScenarioInput = { mode: 'shared-nothing', memory: '1GiB', disk: '8GiB', workload: 'web', network: '2x10g', transport: 'smb', seed: 7 };
const C: ScenarioInput = { memory: '1GiB', workload: 'churn', network: '1g', transport: 'compression', fault: ['link-down@resume'], seed: 3 };

describe('several migrations on one simulated clock', () => {
  it('interleaved cores give the same records as separate runs', () => {
    const inputs = [A, B, C];
    const scenarios = inputs.map((i) => resolveScenario(i));
    const alone = scenarios.map((s) => simulate(s));
    // One clock; each migration on a network of its own (they share nothing).
    const sim = new Simulator();
    const runs = scenarios.map((s) => new SimMigration(newWorld(s, sim), s, resolveFaults(s)));
    const finishedAt: number[] = [];
    // A at 0, B at 3.25 s, C at 7 s: their events interleave on the one clock.
    [0, 3.25, 7].forEach((t, i) => sim.at(t, () => runs[i]!.start(() => finishedAt.push(sim.now))));
    sim.run();
    expect(finishedAt).toHaveLength(3);
    runs.forEach((m, i) => expect(toResult(scenarios[i]!, m.result())).toEqual(alone[i]));
    // They did overlap in time (else the test would prove nothing about interleaving).
    expect(Math.min(...finishedAt)).toBeGreaterThan(7);
  });
});
