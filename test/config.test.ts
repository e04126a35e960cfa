import { describe, expect, it } from "vitest";
import { configFrom, DEFAULT_DATABASE, DEFAULT_SWEEP_CRON, parseConfig } from "../src/config.js";
import { InputError } from "../src/core/errors.js";

describe("the environment, parsed once in config.ts", () => {
  it("gives every setting its default when no TENURE_* variable is set", () => {
    expect(parseConfig({ HOME: "/root" })).toEqual({
      databaseUrl: DEFAULT_DATABASE,
      policies: null,
      url: undefined,
      token: undefined,
      host: "127.0.0.1",
      port: 8080,
      publicUrl: undefined,
      sweepCron: DEFAULT_SWEEP_CRON,
      logLevel: "info",
      heapGrowingPercent: undefined,
      backgroundCheckpoints: true,
      preparedStatements: true,
      k8sAdmission: false,
      tlsCert: undefined,
      tlsKey: undefined,
      mlflowUrl: undefined,
      mlflowToken: undefined,
      mlflowAlias: "champion",
      mlflowEnvironment: "production",
      mlflowWebhookSecret: undefined,
      allowPrivateEgress: false,
      egressAllow: [],
      tokenRate: { count: 10_000, perMs: 1_000 },
      anonymousRate: { count: 1_000, perMs: 1_000 },
      trustProxy: [],
    });
  });

  it("types each value it reads: numbers as numbers, 0 and 1 as off and on", () => {
    const config = parseConfig({
      TENURE_DATABASE_URL: "postgres://db/tenure",
      TENURE_POLICIES: "/etc/tenure/policies.yaml",
      TENURE_URL: "https://tenure.example.com",
      TENURE_TOKEN: "tnr_x",
      TENURE_HOST: "0.0.0.0",
      TENURE_PORT: "9090",
      TENURE_PUBLIC_URL: "https://tenure.example.com",
      TENURE_SWEEP_CRON: "0 6 * * *",
      TENURE_SWEEP_LEASE: "2m",
      TENURE_LOG_LEVEL: "warn",
      TENURE_HEAP_GROWING_PERCENT: "50",
      TENURE_BACKGROUND_CHECKPOINTS: "0",
      TENURE_PG_PREPARED_STATEMENTS: "0",
      TENURE_K8S_ADMISSION: "1",
      TENURE_TLS_CERT: "/etc/tenure/tls/tls.crt",
      TENURE_TLS_KEY: "/etc/tenure/tls/tls.key",
    });
    expect(config).toMatchObject({
      databaseUrl: "postgres://db/tenure",
      policies: "/etc/tenure/policies.yaml",
      port: 9090,
      sweepLease: 120,
      logLevel: "warn",
      heapGrowingPercent: 50,
      backgroundCheckpoints: false,
      preparedStatements: false,
      k8sAdmission: true,
      tlsCert: "/etc/tenure/tls/tls.crt",
      tlsKey: "/etc/tenure/tls/tls.key",
    });
  });

  it("counts an empty variable as unset, as `VAR= tenure …` means in a shell", () => {
    expect(parseConfig({ TENURE_PORT: "", TENURE_POLICIES: "", TENURE_URL: "" })).toMatchObject({
      port: 8080,
      policies: null,
      url: undefined,
    });
  });

  it.each([
    ["TENURE_PORT", "abc", "TENURE_PORT must be a whole number from 1 to 65535"],
    ["TENURE_PORT", "70000", "TENURE_PORT must be a whole number from 1 to 65535"],
    ["TENURE_URL", "ftp://tenure.example.com", "TENURE_URL must be an http:// or https:// URL"],
    ["TENURE_MLFLOW_URL", "mlflow.example.com", "TENURE_MLFLOW_URL must be an http:// or https:// URL"],
    ["TENURE_PUBLIC_URL", "tenure.example.com", "TENURE_PUBLIC_URL must be an http:// or https:// URL"],
    [
      "TENURE_LOG_LEVEL",
      "loud",
      "TENURE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
    ],
    [
      "TENURE_HEAP_GROWING_PERCENT",
      "-5",
      "TENURE_HEAP_GROWING_PERCENT must be a whole number from 1 to 1000",
    ],
    ["TENURE_BACKGROUND_CHECKPOINTS", "no", "TENURE_BACKGROUND_CHECKPOINTS must be 0 (off) or 1 (on)"],
    ["TENURE_PG_PREPARED_STATEMENTS", "false", "TENURE_PG_PREPARED_STATEMENTS must be 0 (off) or 1 (on)"],
    ["TENURE_K8S_ADMISSION", "yes", "TENURE_K8S_ADMISSION must be 0 (off) or 1 (on)"],
    ["TENURE_MLFLOW_URL", "mlflow.example.com", "TENURE_MLFLOW_URL must be an http:// or https:// URL"],
    [
      "TENURE_MLFLOW_URL",
      "https://ada:pw@mlflow.example.com",
      "TENURE_MLFLOW_URL must not carry credentials",
    ],
    ["TENURE_MLFLOW_SYNC_EVERY", "often", "TENURE_MLFLOW_SYNC_EVERY must be a duration such as 5m or 1h"],
    ["TENURE_ALLOW_PRIVATE_EGRESS", "yes", "TENURE_ALLOW_PRIVATE_EGRESS must be 0 (off) or 1 (on)"],
    [
      "TENURE_EGRESS_ALLOW",
      "10.0.0.0/8,intranet",
      "TENURE_EGRESS_ALLOW must be a comma-separated list of CIDRs",
    ],
    ["TENURE_EGRESS_ALLOW", "10.0.0.0/33", "TENURE_EGRESS_ALLOW must be a comma-separated list of CIDRs"],
    [
      "TENURE_RATE_LIMIT",
      "50/d",
      "TENURE_RATE_LIMIT must be a rate such as 50/s, 3000/m or 100000/h, or off",
    ],
    ["TENURE_ANONYMOUS_RATE_LIMIT", "lots", "TENURE_ANONYMOUS_RATE_LIMIT must be a rate such as 50/s"],
    ["TENURE_TRUST_PROXY", "10.0.0.0/8,proxy", "TENURE_TRUST_PROXY must be a comma-separated list of CIDRs"],
    ["TENURE_PG_CONNECT_TIMEOUT", "off", "TENURE_PG_CONNECT_TIMEOUT must be a duration such as 30s"],
    ["TENURE_PG_CONNECT_TIMEOUT", "2h", "TENURE_PG_CONNECT_TIMEOUT must be a duration such as 30s"],
    ["TENURE_PG_QUERY_TIMEOUT", "30", "TENURE_PG_QUERY_TIMEOUT must be a duration such as 30s, 500ms or 2m"],
  ])("refuses %s=%s with an InputError naming the variable", (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(message);
    expect(() => parseConfig({ [name]: value })).toThrow(InputError);
  });

  it("reads the server's MLflow sync: its URL, token and interval in seconds", () => {
    expect(
      parseConfig({
        TENURE_MLFLOW_URL: "https://mlflow.example.com",
        TENURE_MLFLOW_TOKEN: "dapi-x",
        TENURE_MLFLOW_SYNC_EVERY: "10m",
      }),
    ).toMatchObject({ mlflowUrl: "https://mlflow.example.com", mlflowToken: "dapi-x", mlflowSyncEvery: 600 });
  });

  it("reads PostgreSQL's timeouts in milliseconds (the query's may be off), and TENURE_TRUST_PROXY as a list of CIDRs", () => {
    expect(parseConfig({})).toMatchObject({ pgConnectTimeoutMs: undefined, pgQueryTimeoutMs: undefined });
    expect(
      parseConfig({
        TENURE_PG_CONNECT_TIMEOUT: "500ms",
        TENURE_PG_QUERY_TIMEOUT: "2m",
        TENURE_TRUST_PROXY: "10.0.0.0/8, ::1",
      }),
    ).toMatchObject({
      pgConnectTimeoutMs: 500,
      pgQueryTimeoutMs: 120_000,
      trustProxy: ["10.0.0.0/8", "::1"],
    });
    expect(parseConfig({ TENURE_PG_QUERY_TIMEOUT: "off" })).toMatchObject({ pgQueryTimeoutMs: null });
  });

  it("refuses private egress unless TENURE_ALLOW_PRIVATE_EGRESS=1, and reads TENURE_EGRESS_ALLOW as a list of CIDRs", () => {
    expect(parseConfig({})).toMatchObject({ allowPrivateEgress: false, egressAllow: [] });
    expect(
      parseConfig({
        TENURE_ALLOW_PRIVATE_EGRESS: "1",
        TENURE_EGRESS_ALLOW: " 10.0.0.0/8, 127.0.0.1/32,,fd00::/8 ",
      }),
    ).toMatchObject({ allowPrivateEgress: true, egressAllow: ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"] });
  });

  it("reads the rate limits: per minute or hour as well as per second, and off as no limit", () => {
    expect(parseConfig({ TENURE_RATE_LIMIT: "3000/m", TENURE_ANONYMOUS_RATE_LIMIT: "off" })).toMatchObject({
      tokenRate: { count: 3_000, perMs: 60_000 },
      anonymousRate: null,
    });
  });

  it("parses one environment once: asked again, it gives the same configuration", () => {
    const env = { TENURE_PORT: "9191" };
    const first = configFrom(env);
    expect(first.port).toBe(9191);
    expect(configFrom(env)).toBe(first);
  });
});
