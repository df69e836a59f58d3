import { relative } from 'node:path';
import { diagnosePackerBuild } from '../../tools/packer';
import { PharosError } from '../../utils/errors';

export interface BuildLogs {
  label: string;
  serialLog: string;
  buildLog: string;
  workspaceRoot: string;
  provisionTimeoutMinutes: number;
}

/** What a failed `packer build` tells the user: the script that failed, the SSH wait, or the time limit, and the log to read. */
export function packerBuildError(output: string, timedOut: boolean, minutes: number, at: BuildLogs, qemuLost?: string): PharosError {
  const shown = (p: string) => relative(at.workspaceRoot, p);
  const tail = output.trim().split('\n').slice(-15);
  const failure = diagnosePackerBuild(output);
  if (timedOut)
    return new PharosError(`packer build did not finish in ${minutes} minutes; it and its VM were stopped`, {
      step: at.label,
      tail,
      next: `read the serial console log ${shown(at.serialLog)} and ${shown(at.buildLog)}`,
    });
  if (failure.kind === 'provisioner') {
    return new PharosError(`provisioning script ${shown(failure.script)} exited with code ${failure.exitCode}`, {
      file: shown(failure.script),
      step: at.label,
      tail,
      next: `fix the script; the guest's serial console is in ${shown(at.serialLog)}, Packer's output in ${shown(at.buildLog)}`,
    });
  }
  if (failure.kind === 'provision-timeout') {
    return new PharosError(
      `provisioning ran past its time limit (${at.provisionTimeoutMinutes} minutes) in ${shown(failure.script)}, and Packer cancelled it`,
      {
        file: shown(failure.script),
        step: at.label,
        tail,
        next: `if the machine was busy, run it again with --provisionTimeoutMinutes=<more>; if the script hung, its serial console is in ${shown(at.serialLog)}`,
      },
    );
  }
  if (failure.kind === 'ssh-auth') {
    return new PharosError('the VM refused the workspace SSH key', {
      step: at.label,
      tail,
      next: `the seed's user-data must give admin the key in .pharos/ssh/id_ed25519.pub; the guest's serial console is in ${shown(at.serialLog)}`,
    });
  }
  if (qemuLost) {
    return new PharosError(`QEMU ended while Packer was at "${qemuLost}", without Packer stopping it: it was killed, ran out of memory or crashed`, {
      step: at.label,
      tail,
      next: `look for the OOM killer or a kill in \`dmesg\`, read the serial console log ${shown(at.serialLog)}, then run the target again`,
    });
  }
  if (failure.kind === 'ssh-timeout') {
    return new PharosError('the VM never answered SSH', {
      step: at.label,
      tail,
      next: `read the serial console log ${shown(at.serialLog)} (boot, cloud-init seed, sshd)`,
    });
  }
  return new PharosError('packer build failed', { step: at.label, tail, next: `read ${shown(at.buildLog)} and the serial console log ${shown(at.serialLog)}` });
}
