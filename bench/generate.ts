/**
 * Deterministic generator of Elastic Defend-shaped ECS events for the benchmark.
 *
 * The shapes follow the Elastic Defend endpoint events (see the field table in the ECS samples
 * README the project keeps next to its corpus): `event.category` and `event.type` are arrays,
 * `process.args` is an array whose first element is the image, `user.id` is a SID string on Windows
 * and a number on Linux, timestamps carry 100 ns ticks. Nothing here is read from disk at run time.
 *
 * Events are trimmed to about 1 KB (real Defend events are 3-5 KB, mostly `Ext.ancestry`, hashes
 * and the `*_leader` blocks on Linux) because the issue asks for ~1 KB events.
 *
 * The output is NDJSON lines held in memory as strings, so the benchmark pays the real JSON.parse.
 */

// ---- PRNG --------------------------------------------------------------------------------------

/** mulberry32: tiny, fast, good enough for workload shaping, and reproducible from one seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(this.next() * 16)];
    return s;
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-a${this.hex(3)}-${this.hex(12)}`;
  }
  /** Weighted choice over `[weight, value]` pairs. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of table) total += w;
    let r = this.next() * total;
    for (const [w, v] of table) {
      r -= w;
      if (r < 0) return v;
    }
    return table[table.length - 1]![1];
  }
}

// ---- catalogues --------------------------------------------------------------------------------

type Os = "windows" | "linux";

interface Signature {
  readonly subject_name: string;
  readonly trusted: boolean;
}

/** A program the generator can start, with how it is usually invoked. */
interface Program {
  readonly name: string;
  readonly executable: string;
  /** Argument lists after the image (one is picked per start). */
  readonly argv: readonly (readonly string[])[];
  readonly signature: Signature | null;
  readonly weight: number;
  /** Names of typical parents (picked from the host's live processes when one matches). */
  readonly parents: readonly string[];
  readonly system?: boolean;
}

const MS: Signature = { subject_name: "Microsoft Windows", trusted: true };
const MS_PUB: Signature = { subject_name: "Microsoft Windows Publisher", trusted: true };
const MS_CORP: Signature = { subject_name: "Microsoft Corporation", trusted: true };
const GOOGLE: Signature = { subject_name: "Google LLC", trusted: true };

const WIN_PROGRAMS: readonly Program[] = [
  { name: "svchost.exe", executable: "C:\\Windows\\System32\\svchost.exe", weight: 10, signature: MS, parents: ["services.exe"], system: true,
    argv: [["-k", "netsvcs", "-p", "-s", "Schedule"], ["-k", "LocalServiceNetworkRestricted", "-p"], ["-k", "wsappx", "-p", "-s", "AppXSvc"], ["-k", "UnistackSvcGroup"]] },
  { name: "chrome.exe", executable: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", weight: 9, signature: GOOGLE, parents: ["explorer.exe", "chrome.exe"],
    argv: [["--type=renderer", "--lang=en-US", "--field-trial-handle=2132,i,1587423344,13207123,262144", "--renderer-client-id=41", "--mojo-platform-channel-handle=5824", "/prefetch:1"],
      ["--type=utility", "--utility-sub-type=network.mojom.NetworkService", "--lang=en-US", "--service-sandbox-type=none", "/prefetch:8"], ["--no-startup-window"]] },
  { name: "msedge.exe", executable: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", weight: 5, signature: MS_CORP, parents: ["explorer.exe", "msedge.exe"],
    argv: [["--type=renderer", "--disable-gpu-compositing", "--lang=en-US", "--renderer-client-id=12", "/prefetch:1"], ["--single-argument", "https://portal.office.com/"]] },
  { name: "conhost.exe", executable: "C:\\Windows\\System32\\conhost.exe", weight: 6, signature: MS, parents: ["cmd.exe", "powershell.exe", "svchost.exe"],
    argv: [["0xffffffff", "-ForceV1"], []] },
  { name: "cmd.exe", executable: "C:\\Windows\\System32\\cmd.exe", weight: 4, signature: MS, parents: ["explorer.exe", "svchost.exe", "Code.exe"],
    argv: [["/c", "ver"], ["/d", "/s", "/c", "\"git rev-parse --abbrev-ref HEAD\""], ["/c", "C:\\ProgramData\\Scripts\\logon.bat"], ["/c", "npm run build"]] },
  { name: "powershell.exe", executable: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", weight: 3, signature: MS, parents: ["explorer.exe", "svchost.exe", "cmd.exe"],
    argv: [["-NoProfile", "-ExecutionPolicy", "Bypass", "-File", "C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\DataCollection\\collect.ps1"],
      ["-NoLogo", "-NonInteractive", "-Command", "Get-Service | Where-Object Status -eq Running"], []] },
  { name: "RuntimeBroker.exe", executable: "C:\\Windows\\System32\\RuntimeBroker.exe", weight: 4, signature: MS, parents: ["svchost.exe"], argv: [["-Embedding"]] },
  { name: "taskhostw.exe", executable: "C:\\Windows\\System32\\taskhostw.exe", weight: 3, signature: MS, parents: ["svchost.exe"], argv: [["KEYROAMING"], ["Install", "$(Arg0)"], []] },
  { name: "backgroundTaskHost.exe", executable: "C:\\Windows\\System32\\backgroundTaskHost.exe", weight: 3, signature: MS, parents: ["svchost.exe"],
    argv: [["-ServerName:BackgroundTaskHost.WebAccountProvider"], ["-ServerName:App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca"]] },
  { name: "WmiPrvSE.exe", executable: "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe", weight: 2, signature: MS, parents: ["svchost.exe"], system: true, argv: [["-secured", "-Embedding"], ["-Embedding"]] },
  { name: "SearchProtocolHost.exe", executable: "C:\\Windows\\System32\\SearchProtocolHost.exe", weight: 2, signature: MS, parents: ["SearchIndexer.exe"], system: true,
    argv: [["Global\\UsGthrFltPipeMssGthrPipe5_", "Global\\UsGthrCtrlFltPipeMssGthrPipe5", "1", "-2147483646", "\"Software\\Microsoft\\Windows Search\""]] },
  { name: "OneDrive.exe", executable: "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", weight: 2, signature: MS_CORP, parents: ["explorer.exe"], argv: [["/background"], ["/updateInstalled", "/background"]] },
  { name: "Teams.exe", executable: "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe", weight: 2, signature: MS_CORP, parents: ["explorer.exe", "Teams.exe"],
    argv: [["--type=renderer", "--autoplay-policy=no-user-gesture-required", "--lang=en-US"], ["--system-initiated"]] },
  { name: "rundll32.exe", executable: "C:\\Windows\\System32\\rundll32.exe", weight: 2, signature: MS, parents: ["svchost.exe", "explorer.exe"],
    argv: [["C:\\Windows\\System32\\shell32.dll,SHCreateLocalServerRunDll", "{9aa46009-3ce0-458a-a354-715610a075e6}", "-Embedding"], ["C:\\Windows\\system32\\PcaSvc.dll,PcaPatchSdbTask"]] },
  { name: "msiexec.exe", executable: "C:\\Windows\\System32\\msiexec.exe", weight: 1, signature: MS, parents: ["services.exe", "explorer.exe"],
    // `/V` is how services.exe starts the Windows Installer service: benign noise for stage 1 of the seed rule.
    argv: [["/V"], ["/i", "C:\\Users\\{user}\\Downloads\\GoogleChromeStandaloneEnterprise64.msi", "/qn"], ["/x", "{90160000-008C-0000-1000-0000000FF1CE}", "/qn"]] },
  { name: "Code.exe", executable: "C:\\Users\\{user}\\AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", weight: 2, signature: MS_CORP, parents: ["explorer.exe", "Code.exe"],
    argv: [["--type=utility", "--utility-sub-type=node.mojom.NodeService", "--lang=en-US"], []] },
  { name: "git.exe", executable: "C:\\Program Files\\Git\\cmd\\git.exe", weight: 2, signature: { subject_name: "Johannes Schindelin", trusted: true }, parents: ["Code.exe", "cmd.exe"],
    argv: [["status", "-z", "-uall"], ["fetch", "--all"], ["rev-parse", "--show-toplevel"]] },
  { name: "EXCEL.EXE", executable: "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE", weight: 1, signature: MS_CORP, parents: ["explorer.exe"],
    argv: [["/dde"], ["C:\\Users\\{user}\\Documents\\Q3 forecast.xlsx"]] },
  { name: "WINWORD.EXE", executable: "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", weight: 1, signature: MS_CORP, parents: ["explorer.exe", "OUTLOOK.EXE"],
    argv: [["/n", "C:\\Users\\{user}\\Downloads\\contract-draft.docx"]] },
  { name: "schtasks.exe", executable: "C:\\Windows\\System32\\schtasks.exe", weight: 1, signature: MS, parents: ["cmd.exe", "msiexec.exe"],
    argv: [["/query", "/fo", "csv"], ["/create", "/tn", "GoogleUpdateTaskMachineUA", "/sc", "hourly", "/tr", "\"C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe /ua\""]] },
  { name: "whoami.exe", executable: "C:\\Windows\\System32\\whoami.exe", weight: 0.5, signature: MS, parents: ["cmd.exe", "powershell.exe"], argv: [["/all"], []] },
  { name: "net.exe", executable: "C:\\Windows\\System32\\net.exe", weight: 0.5, signature: MS, parents: ["cmd.exe", "powershell.exe"], argv: [["use"], ["user", "/domain"], ["localgroup", "administrators"]] },
  { name: "reg.exe", executable: "C:\\Windows\\System32\\reg.exe", weight: 0.5, signature: MS, parents: ["cmd.exe"], argv: [["query", "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", "/v", "ProductName"]] },
  { name: "updater.exe", executable: "C:\\Program Files (x86)\\Dropbox\\Update\\updater.exe", weight: 0.5, signature: { subject_name: "Dropbox, Inc", trusted: true }, parents: ["svchost.exe"], argv: [["/ua", "/installsource", "scheduler"]], system: true },
];

const WIN_ROOTS: readonly { name: string; executable: string; system: boolean }[] = [
  { name: "services.exe", executable: "C:\\Windows\\System32\\services.exe", system: true },
  { name: "svchost.exe", executable: "C:\\Windows\\System32\\svchost.exe", system: true },
  { name: "explorer.exe", executable: "C:\\Windows\\explorer.exe", system: false },
  { name: "SearchIndexer.exe", executable: "C:\\Windows\\System32\\SearchIndexer.exe", system: true },
  { name: "OUTLOOK.EXE", executable: "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE", system: false },
];

const LINUX_PROGRAMS: readonly Program[] = [
  { name: "bash", executable: "/usr/bin/bash", weight: 6, signature: null, parents: ["sshd", "bash", "tmux: server"], argv: [["-bash"], ["-c", "source /etc/profile.d/vte.sh"], []] },
  { name: "sh", executable: "/usr/bin/dash", weight: 6, signature: null, parents: ["cron", "bash", "python3", "node"],
    argv: [["-c", "/usr/lib/update-notifier/update-motd-updates-available"], ["-c", "run-parts --report /etc/cron.hourly"], ["-c", "command -v debian-sa1 > /dev/null && debian-sa1 1 1"]] },
  { name: "ls", executable: "/usr/bin/ls", weight: 4, signature: null, parents: ["bash"], argv: [["--color=auto", "-la"], ["-1", "/var/log"]] },
  { name: "cat", executable: "/usr/bin/cat", weight: 3, signature: null, parents: ["bash", "sh"], argv: [["/etc/os-release"], ["/proc/meminfo"], ["/var/log/syslog"]] },
  { name: "grep", executable: "/usr/bin/grep", weight: 3, signature: null, parents: ["bash", "sh"], argv: [["-E", "error|fail", "/var/log/syslog"], ["--color=auto", "-rn", "TODO", "src/"]] },
  { name: "python3", executable: "/usr/bin/python3.10", weight: 3, signature: null, parents: ["bash", "systemd", "cron"],
    argv: [["/usr/bin/networkd-dispatcher", "--run-startup-triggers"], ["-m", "pip", "install", "-r", "requirements.txt"], ["manage.py", "runserver", "0.0.0.0:8000"]] },
  { name: "curl", executable: "/usr/bin/curl", weight: 2, signature: null, parents: ["bash", "sh"], argv: [["-s", "https://api.github.com/repos/elastic/detection-rules/releases/latest"], ["-fsSL", "https://get.docker.com"]] },
  { name: "git", executable: "/usr/bin/git", weight: 2, signature: null, parents: ["bash"], argv: [["pull", "--rebase"], ["status"], ["log", "--oneline", "-n", "20"]] },
  { name: "node", executable: "/usr/local/bin/node", weight: 2, signature: null, parents: ["bash", "systemd"], argv: [["/srv/app/dist/server.js"], ["/usr/local/lib/node_modules/npm/bin/npm-cli.js", "ci"]] },
  { name: "java", executable: "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", weight: 1, signature: null, parents: ["systemd"], argv: [["-Xms512m", "-Xmx2g", "-jar", "/opt/app/app.jar"]] },
  { name: "ps", executable: "/usr/bin/ps", weight: 2, signature: null, parents: ["bash", "sh"], argv: [["aux"], ["-ef"]] },
  { name: "docker", executable: "/usr/bin/docker", weight: 1, signature: null, parents: ["bash"], argv: [["ps", "-a"], ["compose", "up", "-d"]] },
  { name: "containerd-shim-runc-v2", executable: "/usr/bin/containerd-shim-runc-v2", weight: 1, signature: null, parents: ["systemd"], argv: [["-namespace", "moby", "-id", "5f2c1d9e8a7b", "-address", "/run/containerd/containerd.sock"]] },
  { name: "sudo", executable: "/usr/bin/sudo", weight: 1, signature: null, parents: ["bash"], argv: [["apt", "update"], ["systemctl", "restart", "nginx"]] },
  { name: "systemctl", executable: "/usr/bin/systemctl", weight: 1, signature: null, parents: ["sudo", "bash"], argv: [["status", "nginx"], ["restart", "nginx"], ["is-active", "--quiet", "docker"]] },
  { name: "awk", executable: "/usr/bin/mawk", weight: 2, signature: null, parents: ["sh", "bash"], argv: [["{print $1}"], ["-F:", "{print $1}", "/etc/passwd"]] },
  { name: "sed", executable: "/usr/bin/sed", weight: 1, signature: null, parents: ["sh"], argv: [["-n", "s/^VERSION_ID=//p", "/etc/os-release"]] },
  { name: "id", executable: "/usr/bin/id", weight: 1, signature: null, parents: ["sh", "bash"], argv: [["-u"], []] },
  { name: "uname", executable: "/usr/bin/uname", weight: 1, signature: null, parents: ["sh", "bash"], argv: [["-a"], ["-r"]] },
  { name: "tar", executable: "/usr/bin/tar", weight: 1, signature: null, parents: ["bash", "sh"], argv: [["-xzf", "/tmp/release.tar.gz", "-C", "/opt/app"]] },
  { name: "sshd", executable: "/usr/sbin/sshd", weight: 1, signature: null, parents: ["sshd", "systemd"], argv: [["-D", "-R"]], system: true },
  { name: "sleep", executable: "/usr/bin/sleep", weight: 1, signature: null, parents: ["sh"], argv: [["1"], ["30"]] },
];

const LINUX_ROOTS: readonly { name: string; executable: string; system: boolean }[] = [
  { name: "systemd", executable: "/usr/lib/systemd/systemd", system: true },
  { name: "cron", executable: "/usr/sbin/cron", system: true },
  { name: "sshd", executable: "/usr/sbin/sshd", system: true },
  { name: "bash", executable: "/usr/bin/bash", system: false },
  { name: "tmux: server", executable: "/usr/bin/tmux", system: false },
];

const WIN_WEIGHTS = WIN_PROGRAMS.map((x) => [x.weight, x] as const);
const LINUX_WEIGHTS = LINUX_PROGRAMS.map((x) => [x.weight, x] as const);

const WIN_FILE_TARGETS: readonly (readonly [number, string])[] = [
  [6, "C:\\Users\\{user}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\f_{hex}"],
  [4, "C:\\Users\\{user}\\AppData\\Local\\Temp\\{hex}.tmp"],
  [3, "C:\\Windows\\Prefetch\\{NAME}-{HEX8}.pf"],
  [2, "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\DetectionHistory\\{hex}"],
  [2, "C:\\Users\\{user}\\Documents\\Reports\\weekly-{n}.docx"],
  [2, "C:\\Users\\{user}\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\{n}.lnk"],
  [1, "C:\\Windows\\System32\\LogFiles\\WMI\\RtBackup\\EtwRT.{n}.etl"],
  [1, "C:\\Users\\{user}\\Downloads\\invoice_{n}.pdf"],
  [1, "C:\\Windows\\Temp\\MpCmdRun.log"],
];

const LINUX_FILE_TARGETS: readonly (readonly [number, string])[] = [
  [4, "/var/log/nginx/access.log"],
  [3, "/tmp/tmp{hex}"],
  [3, "/home/{user}/.cache/pip/http/{hex}"],
  [2, "/var/lib/docker/overlay2/{hex}/diff/app/node_modules/.cache/{n}.json"],
  [1, "/home/{user}/.bash_history"],
  [1, "/etc/resolv.conf"],
  [1, "/var/spool/cron/crontabs/{user}"],
];

const REG_TARGETS: readonly (readonly [number, { key: string; value: string; type: string; data: () => string }])[] = [
  [5, { key: "HKLM\\SYSTEM\\ControlSet001\\Services\\bam\\State\\UserSettings\\{sid}", value: "\\Device\\HarddiskVolume3\\Windows\\explorer.exe", type: "REG_BINARY", data: () => "" }],
  [4, { key: "HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\UserAssist\\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\\Count", value: "HRZR_PGYFRFFVBA", type: "REG_BINARY", data: () => "" }],
  [3, { key: "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates", value: "SignaturesLastUpdated", type: "REG_BINARY", data: () => "" }],
  [2, { key: "HKU\\{sid}\\Software\\Microsoft\\Office\\16.0\\Common\\Roaming\\Identities", value: "ADUserName", type: "REG_SZ", data: () => "user@example.com" }],
  [2, { key: "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\SessionsPending", value: "Exclusive", type: "REG_DWORD", data: () => "0" }],
  [1, { key: "HKU\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Run", value: "OneDrive", type: "REG_SZ", data: () => "\"C:\\Users\\user\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe\" /background" }],
  [1, { key: "HKLM\\SYSTEM\\ControlSet001\\Services\\W32Time\\Config", value: "LastKnownGoodTime", type: "REG_QWORD", data: () => "133754112000000000" }],
];

const DEST_PUBLIC: readonly string[] = [
  "142.250.181.238", "140.82.121.4", "13.107.42.14", "52.96.164.242", "20.190.159.2", "151.101.1.69",
  "104.16.132.229", "35.186.224.25", "2606:4700::6810:84e5", "2a00:1450:4001:82b::200e", "185.199.108.133",
];

// ---- hosts and processes -------------------------------------------------------------------------

interface UserRef {
  readonly id: string | number;
  readonly name: string;
  readonly domain?: string;
}

interface Proc {
  readonly entityId: string;
  readonly pid: number;
  readonly name: string;
  readonly executable: string;
  readonly args: readonly string[];
  readonly commandLine: string;
  readonly signature: Signature | null;
  readonly user: UserRef;
  readonly parent: Proc | null;
  readonly integrity: string;
}

interface Host {
  readonly os: Os;
  readonly id: string;
  readonly agentId: string;
  readonly name: string;
  readonly ip: string;
  readonly osBlock: Record<string, unknown>;
  readonly users: readonly UserRef[];
  readonly system: UserRef;
  readonly roots: Proc[];
  /** Recently started processes: parents for new starts, actors for network/file/registry events. */
  readonly live: Proc[];
  nextPid: number;
  seq: number;
}

const WIN_OS = [
  { family: "windows", name: "Windows", platform: "windows", type: "windows", version: "22H2" },
  { family: "windows", name: "Windows", platform: "windows", type: "windows", version: "21H2" },
] as const;
const LINUX_OS = [
  { family: "ubuntu", name: "Linux", platform: "ubuntu", type: "linux", version: "22.04.4" },
  { family: "rhel", name: "Linux", platform: "rhel", type: "linux", version: "9.4" },
] as const;

const FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"];

// ---- the generator -------------------------------------------------------------------------------

export interface GenerateOptions {
  readonly events: number;
  readonly seed?: number;
  /** Complete seed-rule attack sequences to inject (3 events each). */
  readonly attackSequences?: number;
}

export interface GeneratedStream {
  readonly lines: string[];
  readonly totalBytes: number;
  /** Counts per `data_stream.dataset` and OS, for the report. */
  readonly mix: Record<string, number>;
  readonly attackSequences: number;
}

export function generateEvents(options: GenerateOptions): GeneratedStream {
  const rng = new Rng(options.seed ?? 0x5eed);
  const g = new Generator(rng);
  const total = options.events;
  const attacks = options.attackSequences ?? 24;
  // Attack start positions, spread over the stream; each one emits its 3 events a few positions apart.
  const attackAt = new Set<number>();
  for (let i = 0; i < attacks; i++) attackAt.add(Math.floor(((i + 0.5) * total) / attacks));
  const pending: { at: number; make: () => Record<string, unknown> }[] = [];
  const lines: string[] = [];
  const mix: Record<string, number> = {};
  let totalBytes = 0;
  const emit = (ev: Record<string, unknown>, key: string): void => {
    const line = JSON.stringify(ev);
    lines.push(line);
    totalBytes += Buffer.byteLength(line) + 1;
    mix[key] = (mix[key] ?? 0) + 1;
  };
  while (lines.length < total) {
    const pos = lines.length;
    const due = pending.findIndex((p) => p.at <= pos);
    if (due >= 0) {
      g.tick();
      emit(pending.splice(due, 1)[0]!.make(), "seed-attack");
      continue;
    }
    if (attackAt.has(pos)) {
      attackAt.delete(pos);
      const steps = g.attackSequence();
      g.tick();
      emit(steps[0]!(), "seed-attack");
      pending.push({ at: pos + rng.int(3, 40), make: steps[1]! }, { at: pos + rng.int(50, 120), make: steps[2]! });
      continue;
    }
    g.tick();
    const [kind, ev] = g.randomEvent();
    emit(ev, kind);
  }
  return { lines, totalBytes, mix, attackSequences: attacks };
}

class Generator {
  private readonly hosts: Host[] = [];
  private readonly byOs: Record<Os, Host[]> = { windows: [], linux: [] };
  /** Event time in 100 ns ticks since the Unix epoch (Defend precision). */
  private ticks = BigInt(Date.UTC(2026, 10, 2, 9, 0, 0)) * 10_000n;
  private readonly domainSid: string;

  constructor(private readonly rng: Rng) {
    this.domainSid = `S-1-5-21-${rng.int(1e9, 4e9)}-${rng.int(1e9, 4e9)}-${rng.int(1e8, 9e8)}`;
    for (let i = 0; i < 48; i++) this.hosts.push(this.makeHost("windows", i));
    for (let i = 0; i < 24; i++) this.hosts.push(this.makeHost("linux", i));
    for (const h of this.hosts) this.byOs[h.os].push(h);
  }

  /** Advances the clock by 0-4 ms (a few hundred events per second across the fleet). */
  tick(): void {
    this.ticks += BigInt(this.rng.int(0, 40_000));
  }

  private timestamp(): string {
    const ms = this.ticks / 10_000n;
    const frac = (this.ticks % 10_000_000n).toString().padStart(7, "0");
    return new Date(Number(ms)).toISOString().slice(0, 19) + "." + frac + "Z";
  }

  private makeHost(os: Os, i: number): Host {
    const r = this.rng;
    const name = os === "windows" ? (i < 40 ? `WS-${(1000 + i * 37).toString()}` : `SRV-APP${i - 39}`) : `lnx-${["web", "db", "build", "k8s"][i % 4]}-${Math.floor(i / 4) + 1}`;
    const osInfo = os === "windows" ? WIN_OS[i < 40 ? 0 : 1] : LINUX_OS[i % 2];
    const users: UserRef[] = [];
    for (let k = 0; k < 2; k++) {
      const n = r.pick(FIRST);
      users.push(os === "windows" ? { id: `${this.domainSid}-${r.int(1100, 9999)}`, name: n, domain: "CORP" } : { id: r.int(1000, 1010), name: n });
    }
    const system: UserRef = os === "windows" ? { id: "S-1-5-18", name: "SYSTEM", domain: "NT AUTHORITY" } : { id: 0, name: "root" };
    const h: Host = {
      os, id: r.uuid(), agentId: r.uuid(), name,
      ip: `10.${r.int(0, 40)}.${r.int(0, 255)}.${r.int(2, 254)}`,
      osBlock: { ...osInfo },
      users, system, roots: [], live: [], nextPid: r.int(400, 3000), seq: r.int(1000, 90000),
    };
    for (const root of os === "windows" ? WIN_ROOTS : LINUX_ROOTS) {
      const user = root.system ? system : users[0]!;
      h.roots.push(this.makeProc(h, root.name, root.executable, [], null, user, os === "windows" ? MS : null));
    }
    return h;
  }

  private entityId(h: Host, pid: number): string {
    return Buffer.from(`${h.agentId}-${pid}-${(this.ticks / 10n).toString()}`).toString("base64");
  }

  private makeProc(h: Host, name: string, executable: string, argv: readonly string[], parent: Proc | null, user: UserRef, signature: Signature | null): Proc {
    const pid = (h.nextPid += this.rng.int(4, 40));
    const image = h.os === "windows" ? (this.rng.chance(0.5) ? executable : name) : name;
    const args = [image, ...argv];
    const quote = (a: string): string => (a.includes(" ") && !a.startsWith("\"") ? `"${a}"` : a);
    return {
      entityId: this.entityId(h, pid), pid, name, executable, args, commandLine: args.map(quote).join(" "),
      signature, user, parent,
      integrity: user.id === "S-1-5-18" ? "system" : this.rng.chance(0.15) ? "high" : "medium",
    };
  }

  private pickUser(h: Host, p: Program | { system?: boolean }): UserRef {
    return p.system || this.rng.chance(0.1) ? h.system : this.rng.pick(h.users);
  }

  private startProcess(h: Host): Proc {
    const programs = h.os === "windows" ? WIN_PROGRAMS : LINUX_PROGRAMS;
    const p = this.rng.weighted(h.os === "windows" ? WIN_WEIGHTS : LINUX_WEIGHTS);
    const parent = this.parentFor(h, p, programs);
    // Children of services run as SYSTEM/root; children of a user's process mostly as that user.
    const user = p.system || parent.user.id === h.system.id ? this.pickUser(h, p) : this.rng.chance(0.95) ? parent.user : h.system;
    let argv = this.rng.pick(p.argv);
    // Benign msiexec /V only comes from services.exe, as on real hosts.
    if (p.name === "msiexec.exe" && parent.name !== "services.exe" && argv[0] === "/V") argv = p.argv[1]!;
    const userName = typeof user.id === "string" && user.id.startsWith("S-1-5-21") ? user.name : "Default";
    const fill = (s: string): string => s.replace("{user}", userName);
    const proc = this.makeProc(h, p.name, fill(p.executable), argv.map(fill), parent, user, p.signature);
    h.live.push(proc);
    if (h.live.length > 24) h.live.shift();
    return proc;
  }

  /**
   * A live process that usually starts `p`. When none is running (cmd.exe for net.exe, say), the
   * usual parent is started first, under a root that usually starts it; that start is not emitted,
   * as sensors miss events too.
   */
  private parentFor(h: Host, p: Program, programs: readonly Program[]): Proc {
    const candidates = [...h.live, ...h.roots].filter((q) => p.parents.includes(q.name));
    if (candidates.length > 0) return this.rng.pick(candidates);
    const prog = programs.find((x) => x.name === p.parents[0]);
    if (!prog) return h.roots[0]!;
    const grand = h.roots.find((q) => prog.parents.includes(q.name)) ?? h.roots[0]!;
    const userName = (u: UserRef): string => (typeof u.id === "string" && u.id.startsWith("S-1-5-21") ? u.name : "Default");
    const user = this.pickUser(h, prog);
    const proc = this.makeProc(h, prog.name, prog.executable.replace("{user}", userName(user)), this.rng.pick(prog.argv), grand, user, prog.signature);
    h.live.push(proc);
    return proc;
  }

  private actor(h: Host): Proc {
    return h.live.length > 0 && this.rng.chance(0.9) ? this.rng.pick(h.live) : this.startProcess(h);
  }

  // ---- event shapes ----

  private base(h: Host, dataset: string, category: string, type: string, action: string): Record<string, unknown> {
    return {
      "@timestamp": this.timestamp(),
      agent: { id: h.agentId, type: "endpoint" },
      data_stream: { dataset, namespace: "default", type: "logs" },
      event: { action, category: [category], dataset, id: this.eventId(), kind: "event", module: "endpoint", sequence: ++h.seq, type: [type] },
      host: { id: h.id, ip: [h.ip], name: h.name, os: h.osBlock },
    };
  }

  private eventId(): string {
    const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+";
    let s = "";
    for (let i = 0; i < 16; i++) s += a[Math.floor(this.rng.next() * a.length)];
    return s + "++++" + a[this.rng.int(0, 61)]! + a[this.rng.int(0, 61)]!;
  }

  private userBlock(u: UserRef): Record<string, unknown> {
    return u.domain !== undefined ? { domain: u.domain, id: u.id, name: u.name } : { id: u.id, name: u.name };
  }

  private processBlock(h: Host, p: Proc, full: boolean): Record<string, unknown> {
    const parent = p.parent;
    const out: Record<string, unknown> = {
      entity_id: p.entityId, executable: p.executable, name: p.name, pid: p.pid,
    };
    if (full) {
      out["args"] = p.args;
      out["args_count"] = p.args.length;
      out["command_line"] = p.commandLine;
      out["parent"] = parent
        ? { args: parent.args, args_count: parent.args.length, command_line: parent.commandLine, entity_id: parent.entityId, executable: parent.executable, name: parent.name, pid: parent.pid }
        : undefined;
      if (h.os === "windows") {
        if (p.signature) out["code_signature"] = { exists: true, status: p.signature.trusted ? "trusted" : "errorUntrusted", subject_name: p.signature.subject_name, trusted: p.signature.trusted };
        else out["code_signature"] = { exists: false };
        out["Ext"] = { token: { elevation_level: p.integrity === "high" ? "full" : "limited", integrity_level_name: p.integrity } };
      } else {
        out["interactive"] = p.parent?.name === "bash";
        out["working_directory"] = typeof p.user.id === "number" && p.user.id >= 1000 ? `/home/${p.user.name}` : "/";
      }
    } else if (parent) {
      out["parent"] = { entity_id: parent.entityId };
    }
    return out;
  }

  randomEvent(): [string, Record<string, unknown>] {
    const r = this.rng;
    const kind = r.weighted<string>([
      [22, "windows-process"], [13, "linux-process"], [13, "windows-network"], [6, "linux-network"],
      [18, "windows-file"], [8, "linux-file"], [20, "windows-registry"],
    ]);
    const os: Os = kind.startsWith("windows") ? "windows" : "linux";
    const h = r.pick(this.byOs[os]);
    switch (kind) {
      case "windows-process":
      case "linux-process":
        return [kind, this.processEvent(h, this.startProcess(h))];
      case "windows-network":
      case "linux-network":
        return [kind, this.networkEvent(h, this.actor(h), r.chance(0.8) ? "connection_attempted" : "connection_accepted")];
      case "windows-file":
      case "linux-file":
        return [kind, this.fileEvent(h, this.actor(h))];
      default:
        return [kind, this.registryEvent(h, this.actor(h))];
    }
  }

  private processEvent(h: Host, p: Proc): Record<string, unknown> {
    const action = h.os === "windows" ? "start" : this.rng.chance(0.85) ? "exec" : "fork";
    const ev = this.base(h, "endpoint.events.process", "process", "start", action);
    ev["message"] = "Endpoint process event";
    ev["process"] = this.processBlock(h, p, true);
    ev["user"] = this.userBlock(p.user);
    return ev;
  }

  private networkEvent(h: Host, p: Proc, action: "connection_attempted" | "connection_accepted"): Record<string, unknown> {
    const r = this.rng;
    const ev = this.base(h, "endpoint.events.network", "network", "start", action);
    const remote = action === "connection_attempted" ? r.pick(DEST_PUBLIC) : `10.${r.int(0, 40)}.${r.int(0, 255)}.${r.int(2, 254)}`;
    const v6 = remote.includes(":");
    const outbound = action === "connection_attempted";
    const local = { ip: h.ip, port: outbound ? r.int(49152, 65535) : r.pick([22, 443, 445, 3389, 5432, 8080]) };
    const far = { ip: remote, port: outbound ? r.pick([443, 443, 443, 80, 53, 8443]) : r.int(49152, 65535) };
    ev["message"] = "Endpoint network event";
    ev["destination"] = outbound ? far : local;
    ev["source"] = outbound ? local : far;
    ev["network"] = { direction: outbound ? "egress" : "ingress", transport: "tcp", type: v6 ? "ipv6" : "ipv4" };
    ev["process"] = this.processBlock(h, p, false);
    ev["user"] = this.userBlock(p.user);
    return ev;
  }

  private fileEvent(h: Host, p: Proc): Record<string, unknown> {
    const r = this.rng;
    const action = r.weighted<string>([[4, "creation"], [3, "modification"], [2, "overwrite"], [1, "rename"], [1, "deletion"]]);
    const type = action === "creation" ? "creation" : action === "deletion" ? "deletion" : "change";
    const ev = this.base(h, "endpoint.events.file", "file", type, action);
    const userName = p.user.name === "SYSTEM" || p.user.name === "root" ? h.os === "windows" ? "Default" : "ubuntu" : p.user.name;
    const path = r.weighted(h.os === "windows" ? WIN_FILE_TARGETS : LINUX_FILE_TARGETS)
      .replace("{user}", userName).replace("{hex}", r.hex(16)).replace("{HEX8}", r.hex(8).toUpperCase())
      .replace("{NAME}", p.name.toUpperCase()).replace("{n}", String(r.int(1, 999)));
    const sep = h.os === "windows" ? "\\" : "/";
    const cut = path.lastIndexOf(sep);
    const name = path.slice(cut + 1);
    const dot = name.lastIndexOf(".");
    const file: Record<string, unknown> = { directory: path.slice(0, cut), name, path };
    if (dot > 0) file["extension"] = name.slice(dot + 1);
    if (action === "rename") file["Ext"] = { original: { name: `${name}.partial`, path: `${path}.partial` } };
    ev["message"] = "Endpoint file event";
    ev["file"] = file;
    ev["process"] = this.processBlock(h, p, false);
    ev["user"] = this.userBlock(p.user);
    return ev;
  }

  private registryEvent(h: Host, p: Proc): Record<string, unknown> {
    const r = this.rng;
    const t = r.weighted(REG_TARGETS);
    const sid = typeof p.user.id === "string" && p.user.id.startsWith("S-1-5-21") ? p.user.id : `${this.domainSid}-1104`;
    const key = t.key.replace("{sid}", sid);
    const hive = key.startsWith("HKU") ? "HKU" : "HKLM";
    const ev = this.base(h, "endpoint.events.registry", "registry", "change", "modification");
    ev["message"] = "Endpoint registry event";
    const data = t.data();
    ev["registry"] = {
      data: data === "" ? { type: t.type } : { strings: [data], type: t.type },
      hive, key: key.slice(hive.length + 1), path: `${key}\\${t.value}`, value: t.value,
    };
    ev["process"] = this.processBlock(h, p, false);
    ev["user"] = this.userBlock(p.user);
    return ev;
  }

  /**
   * One complete instance of the seed rule's sequence on a Windows workstation: msiexec started
   * with `/V` by a user, a connection attempt by that msiexec, then an unsigned child it started
   * from the user's temp folder under a domain-user SID. Returned as thunks so the three events
   * get their timestamps when they are emitted, interleaved with noise.
   */
  attackSequence(): (() => Record<string, unknown>)[] {
    const r = this.rng;
    const h = r.pick(this.hosts.filter((x) => x.os === "windows" && x.name.startsWith("WS-")));
    const user = h.users[0]!;
    const explorer = h.roots.find((x) => x.name === "explorer.exe") ?? h.roots[0]!;
    const url = `http://${r.pick(["198.51.100", "203.0.113", "192.0.2"])}.${r.int(2, 250)}/${r.pick(["update", "setup", "invoice", "KB5034441"])}.msi`;
    const msi = this.makeProc(h, "msiexec.exe", "C:\\Windows\\System32\\msiexec.exe", ["/V", "/q", "/i", url], explorer, user, MS);
    const payload = r.pick(["svc_update.exe", "AdobeUpd.exe", "winhelper.exe", "chrome_installer.exe"]);
    return [
      () => this.processEvent(h, msi),
      () => {
        const ev = this.networkEvent(h, msi, "connection_attempted");
        const ip = url.slice(7, url.indexOf("/", 7));
        ev["destination"] = { ip, port: 80 };
        return ev;
      },
      () => {
        const child = this.makeProc(h, payload, `C:\\Users\\${user.name}\\AppData\\Local\\Temp\\MW${r.hex(4).toUpperCase()}\\${payload}`, ["/silent"], msi, user, null);
        return this.processEvent(h, child);
      },
    ];
  }
}
