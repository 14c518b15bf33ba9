/**
 * The egress policy settings the test wiring gives the functions: every test service listens on loopback, which
 * the policy forbids by default, so the tests exempt loopback explicitly (as an operator would with
 * EGRESS_ALLOW). The API server and the internal registry stay forbidden as sources: an exemption by range
 * never covers them (shared/egress/policy.ts).
 */
export const TEST_EGRESS_ALLOW = ['127.0.0.0/8', '::1'];

/** As env vars, for function processes. */
export const testEgressEnv: Record<string, string> = { EGRESS_ALLOW: TEST_EGRESS_ALLOW.join(',') };

/** As parsed config, for realDeps in-process (`CTF_ROOT` unset: the functions read no CTF in these tests). */
export const testEgressConfig = { CTF_ROOT: undefined, EGRESS_HOSTS: [], EGRESS_ALLOW: TEST_EGRESS_ALLOW, EGRESS_DENY: [] };
