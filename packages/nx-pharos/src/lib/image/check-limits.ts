import { DEFAULT_CHECK_TIMEOUT, type ContainerCheck, type Runtime } from '../../definitions/container';
import { DURATION_EXAMPLES, parseDuration } from '../../utils/duration';
import { PharosError } from '../../utils/errors';

export const checkName = (check: ContainerCheck) => check.name ?? check.command;

export interface CheckLimit {
  ms: number;
  /** What the timeout message names: `check "slow"`, `check "slow" under apptainer`. */
  what: string;
  /** How a user raises it. */
  raise: string;
}

/**
 * A check's time limit in one runtime: its `timeout`, else DEFAULT_CHECK_TIMEOUT. `declaredIn` is where the check is
 * written (container.yaml, or the target's options), so the advice points at the line to change. container.yaml is
 * validated when it is read; a bad value in the options is refused here, before any check runs.
 */
export function checkTimeLimit(check: ContainerCheck, runtime: Runtime, declaredIn: string): CheckLimit {
  const text = check.timeout ?? DEFAULT_CHECK_TIMEOUT;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new PharosError(`check "${checkName(check)}": "timeout" must be ${DURATION_EXAMPLES}, got "${text}"`, { file: declaredIn });
  }
  return {
    ms,
    what: `check "${checkName(check)}"${runtime === 'docker' ? '' : ` under ${runtime}`}`,
    raise: `set "timeout:" on the check in ${declaredIn} (${check.timeout ? `now ${check.timeout}` : 'default'}; the default is ${DEFAULT_CHECK_TIMEOUT})`,
  };
}
