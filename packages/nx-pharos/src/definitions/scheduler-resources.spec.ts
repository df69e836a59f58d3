import { describe, expect, it } from 'vitest';
import { PharosError } from '../utils/errors';
import {
  buildCpus,
  lsfTimeMinutes,
  pbsTimeMinutes,
  readSchedulerDirectives,
  slurmTimeMinutes,
  type DirectiveLine,
  type Scheduler,
  type SchedulerDirectives,
} from './scheduler-resources';

const FILE = 'containers/overlays/x/1.0.sh';

/** Directive lines as a script spells them, numbered from 2 (line 1 is the shebang). */
function lines(...texts: string[]): DirectiveLine[] {
  const prefixes: Record<string, Scheduler> = { '#SBATCH': 'slurm', '#PBS': 'pbs', '#BSUB': 'lsf' };
  return texts.map((t, n) => {
    const [prefix] = t.split(' ', 1);
    return { scheduler: prefixes[prefix], text: t.slice(prefix.length), line: n + 2 };
  });
}

const read = (...texts: string[]): SchedulerDirectives => readSchedulerDirectives(lines(...texts), FILE);

function errorOf(...texts: string[]): PharosError {
  try {
    read(...texts);
  } catch (err) {
    if (err instanceof PharosError) return err;
    throw err;
  }
  throw new Error('expected the directives to be refused');
}

describe('time formats', () => {
  it('reads every sbatch --time form, rounding seconds up to a minute', () => {
    expect(['30', '30:30', '2:00:00', '1-02', '1-02:30', '1-02:00:30'].map(slurmTimeMinutes)).toEqual([30, 31, 120, 1560, 1590, 1561]);
    // Two fields are minutes:seconds to Slurm, not hours:minutes.
    expect(slurmTimeMinutes('2:00')).toBe(2);
    expect(slurmTimeMinutes('0')).toBeUndefined();
    expect(slurmTimeMinutes('UNLIMITED')).toBeUndefined();
  });

  it('reads PBS walltime as seconds or [[hours:]minutes:]seconds', () => {
    expect(['3600', '10:00', '02:00:00', '90', '1:00:00.5'].map(pbsTimeMinutes)).toEqual([60, 10, 120, 2, 60]);
    expect(pbsTimeMinutes('2h')).toBeUndefined();
  });

  it('reads LSF -W as [hour:]minute, minutes above 59 allowed', () => {
    expect(['2:00', '210', '3:30', '90/hostA'].map(lsfTimeMinutes)).toEqual([120, 210, 210, 90]);
  });
});

describe('Slurm', () => {
  it('maps the common spellings onto one spec', () => {
    expect(read('#SBATCH --cpus-per-task=4', '#SBATCH --mem=8G', '#SBATCH --time=1-02:00:00', '#SBATCH --ntasks=1', '#SBATCH --nodes=1').resources).toEqual({
      nodes: 1,
      tasks: 1,
      cpusPerTask: 4,
      memoryMiB: 8192,
      timeMinutes: 1560,
    });
    expect(read('#SBATCH -c 4 -n 2 -N 1 --mem=8000 -t 2:00:00').resources).toEqual({ nodes: 1, tasks: 2, cpusPerTask: 4, memoryMiB: 8000, timeMinutes: 120 });
    expect(read('#SBATCH -c4', '#SBATCH --time 30').resources).toEqual({ cpusPerTask: 4, timeMinutes: 30 });
  });

  it('counts GPUs per node from --gres, --gpus and --gpus-per-node, keeping the model', () => {
    expect(read('#SBATCH --gres=gpu:2').resources).toEqual({ gpus: 2 });
    expect(read('#SBATCH --gres=gpu:a100:2').resources).toEqual({ gpus: 2, gpuType: 'a100' });
    expect(read('#SBATCH --gres=gpu').resources).toEqual({ gpus: 1 });
    expect(read('#SBATCH --gpus=4', '#SBATCH -N 2').resources).toEqual({ nodes: 2, gpus: 2 });
    expect(read('#SBATCH --gpus-per-node=a100:1').resources).toEqual({ gpus: 1, gpuType: 'a100' });
    expect(errorOf('#SBATCH --gres=tmpdisk:10').message).toContain('"tmpdisk" is not one Pharos can give a build');
  });

  it('keeps job name, partition, mail and output apart, once each', () => {
    const { resources, other } = read(
      '#SBATCH --job-name=star-index',
      '#SBATCH -p short --mail-type=END,FAIL',
      '#SBATCH --output=%x-%j.log',
      '#SBATCH --job-name=star-index',
      '#SBATCH --requeue',
    );
    expect(resources).toEqual({});
    expect(other).toEqual({
      slurm: [
        { flag: '--job-name', value: 'star-index', line: 2 },
        { flag: '--partition', value: 'short', line: 3 },
        { flag: '--mail-type', value: 'END,FAIL', line: 3 },
        { flag: '--output', value: '%x-%j.log', line: 4 },
        { flag: '--requeue', line: 6 },
      ],
      pbs: [],
      lsf: [],
    });
  });

  it('refuses a flag it cannot map, naming the file, the line and what it maps', () => {
    const err = errorOf('#SBATCH --cpus-per-task=2', '#SBATCH --threads-per-core=2');
    expect(err.message).toBe("#SBATCH --threads-per-core=2: Pharos cannot map --threads-per-core to a build's resources");
    expect(err.details).toMatchObject({ file: FILE, line: 3 });
    expect(err.details.next).toContain('Pharos maps --nodes, --ntasks');
    expect(err.details.next).toContain('(--job-name, --output, --error, …) are kept apart');
    expect(errorOf('#SBATCH -X').message).toContain('cannot map -X');
    expect(errorOf('#SBATCH 4').message).toContain('"4" is not a flag');
  });

  it('refuses values it cannot size a build by', () => {
    expect(errorOf('#SBATCH --time=UNLIMITED').message).toContain('a build needs a finite limit');
    expect(errorOf('#SBATCH --mem=0').message).toContain('all of a node’s memory');
    expect(errorOf('#SBATCH --mem=8X').message).toContain('is not a Slurm size');
    expect(errorOf('#SBATCH --nodes=1-4').message).toContain('a range of nodes');
    expect(errorOf('#SBATCH -c 0').message).toContain('whole number above 0');
    expect(errorOf('#SBATCH --cpus-per-task').message).toContain('needs a value');
  });

  it('ignores a trailing comment and refuses an unclosed quote', () => {
    expect(read('#SBATCH --mem=8G   # eight gigabytes').resources).toEqual({ memoryMiB: 8192 });
    expect(read('#SBATCH --job-name="a b"').other.slurm).toEqual([{ flag: '--job-name', value: 'a b', line: 2 }]);
    expect(errorOf('#SBATCH --job-name="a b').message).toContain('quote is not closed');
  });
});

describe('one value per quantity', () => {
  it('accepts the same value twice, however it is spelled', () => {
    expect(read('#SBATCH -c 4', '#SBATCH --cpus-per-task=4', '#SBATCH --mem=8G', '#SBATCH --mem=8192').resources).toEqual({ cpusPerTask: 4, memoryMiB: 8192 });
  });

  it('refuses two different values, naming both lines', () => {
    const err = errorOf('#SBATCH --mem=8G', '#SBATCH -c 2', '#SBATCH --mem=16G');
    expect(err.message).toBe('#SBATCH --mem=16G sets the memory per node (MiB) to 16384, but line 2 (#SBATCH --mem=8G) set it to 8192');
    expect(err.details.line).toBe(4);
  });

  it('reduces memory per CPU, per node and per job to one figure per node, and refuses forms that disagree', () => {
    expect(read('#SBATCH --mem-per-cpu=2G -c 4').resources.memoryMiB).toBe(8192);
    expect(read('#SBATCH --mem-per-cpu=1G --ntasks-per-node=2 -c 2 -N 2').resources).toMatchObject({ tasks: 4, memoryMiB: 4096 });
    expect(read('#BSUB -M 8GB', '#BSUB -R "rusage[mem=8192]"').resources.memoryMiB).toBe(8192);
    const err = errorOf('#SBATCH --mem=8G -c 4', '#SBATCH --mem-per-cpu=1G');
    expect(err.message).toContain('The memory is given twice and the two disagree');
    expect(err.message).toContain('#SBATCH --mem=8G (line 2) is 8192 MiB per node');
    expect(err.details.line).toBe(3);
  });

  it('lets a script carry several schedulers as long as they agree', () => {
    const { resources } = read('#SBATCH --cpus-per-task=16 --mem=42G --time=2:00:00', '#PBS -l select=1:ncpus=16:mem=42gb', '#PBS -l walltime=2:00:00');
    expect(resources).toEqual({ nodes: 1, tasks: 1, cpusPerTask: 16, memoryMiB: 43008, timeMinutes: 120 });
    expect(errorOf('#SBATCH -c 8', '#PBS -l select=1:ncpus=16').message).toContain('sets the CPUs per task to 16, but line 2 (#SBATCH -c 8) set it to 8');
  });
});

describe('PBS', () => {
  it('maps Torque nodes=N:ppn=M with mem and walltime', () => {
    expect(read('#PBS -l nodes=1:ppn=4,mem=8gb,walltime=02:00:00').resources).toEqual({
      nodes: 1,
      tasks: 1,
      cpusPerTask: 4,
      memoryMiB: 8192,
      timeMinutes: 120,
    });
    expect(read('#PBS -l nodes=2:ppn=8:gpus=1', '#PBS -l mem=16gb').resources).toEqual({ nodes: 2, tasks: 2, cpusPerTask: 8, memoryMiB: 8192, gpus: 1 });
  });

  it('maps a PBS Professional select chunk, each chunk a node', () => {
    expect(read('#PBS -l select=1:ncpus=4:mem=8gb:ngpus=1').resources).toEqual({ nodes: 1, tasks: 1, cpusPerTask: 4, memoryMiB: 8192, gpus: 1 });
    expect(read('#PBS -l select=2:ncpus=8:mpiprocs=4:mem=512mb').resources).toEqual({ nodes: 2, tasks: 8, cpusPerTask: 2, memoryMiB: 512 });
  });

  it('keeps name, queue, mail and placement apart', () => {
    const { other } = read('#PBS -N star-index -q workq', '#PBS -l place=scatter', '#PBS -m abe -M me@example.org', '#PBS -V');
    expect(other.pbs).toEqual([
      { flag: '-N', value: 'star-index', line: 2 },
      { flag: '-q', value: 'workq', line: 2 },
      { flag: '-l', value: 'place=scatter', line: 3 },
      { flag: '-m', value: 'abe', line: 4 },
      { flag: '-M', value: 'me@example.org', line: 4 },
      { flag: '-V', line: 5 },
    ]);
  });

  it('refuses a size without a unit, a resource it cannot map, and mixed chunks', () => {
    expect(errorOf('#PBS -l mem=8000').message).toContain('is not a PBS size with its unit');
    const vmem = errorOf('#PBS -l vmem=8gb');
    expect(vmem.message).toBe('#PBS -l vmem=8gb: the resource "vmem" is not one Pharos can map');
    expect(vmem.details.next).toContain('Pharos maps select, nodes, walltime, mem');
    expect(errorOf('#PBS -l select=1:ncpus=4+1:ncpus=8').message).toContain('chunks of different kinds');
    expect(errorOf('#PBS -l nodes=1:ppn=4:bigmem').message).toContain('"bigmem" in nodes=');
    expect(errorOf('#PBS -I').message).toContain('cannot map -I');
  });
});

describe('LSF', () => {
  it('maps -n, -W, rusage memory and -gpu num', () => {
    expect(read('#BSUB -n 4', '#BSUB -W 2:00', '#BSUB -R "rusage[mem=8000]"', '#BSUB -gpu "num=1"').resources).toEqual({
      tasks: 4,
      timeMinutes: 120,
      memoryMiB: 8000,
      gpus: 1,
    });
    expect(read('#BSUB -n 16', '#BSUB -R "span[hosts=1] rusage[mem=2688MB/task]"').resources).toEqual({ nodes: 1, tasks: 16, memoryMiB: 43008 });
    expect(buildCpus(read('#BSUB -n 16', '#BSUB -R "span[hosts=1]"').resources)).toBe(16);
  });

  it('keeps the job name, the queue, select strings and GPU modes apart', () => {
    const { other, resources } = read(
      '#BSUB -J star-index -q normal',
      '#BSUB -R "select[type==X86_64] span[hosts=1]"',
      '#BSUB -gpu "num=2:mode=shared:gmodel=A100"',
    );
    expect(resources).toEqual({ nodes: 1, gpus: 2, gpuType: 'A100' });
    expect(other.lsf).toEqual([
      { flag: '-J', value: 'star-index', line: 2 },
      { flag: '-q', value: 'normal', line: 2 },
      { flag: '-R', value: 'select[type==X86_64]', line: 3 },
      { flag: '-gpu', value: 'mode=shared', line: 4 },
    ]);
  });

  it('refuses what it would have to guess', () => {
    expect(errorOf('#BSUB -M 8000').message).toContain('LSF_UNIT_FOR_LIMITS');
    expect(errorOf('#BSUB -gpu -').message).toContain('site’s default GPU requirement');
    expect(errorOf('#BSUB -R "rusage[mem=8000:duration=10]"').message).toContain('"duration" in rusage[] is not one Pharos can map');
    expect(errorOf('#BSUB -n 2,8').message).toContain('a range of slots');
    expect(errorOf('#BSUB -x -Z').message).toContain('cannot map -Z');
  });
});

describe('buildCpus', () => {
  it('is the CPUs of one node, or undefined when the script does not say', () => {
    expect(buildCpus({ cpusPerTask: 4 })).toBe(4);
    expect(buildCpus({ tasks: 8, nodes: 2, cpusPerTask: 2 })).toBe(8);
    expect(buildCpus({ memoryMiB: 100 })).toBeUndefined();
  });
});
