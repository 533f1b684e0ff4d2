/** The README committed at the root of a new bus, for people who open the repository in an editor or on the web. */
export function busReadme(name: string): string {
  return `# ${name} — a gitbus coordination repository

This repository is a message bus: tasks, claims and results are Markdown files, and every change is a commit.

- \`handoffs/\` — tasks. Add one by committing a file here (or with \`gitbus dispatch\`).
- \`claims/\` — which node runs which task.
- \`responses/\` — results. Read them here, or with \`gitbus show ID\`.
- \`deliveries/\` — a result's branch that reached the project remote after its response went out.
- \`cancels/\`, \`releases/\` — tasks stopped or given back.
- \`nodes/\` — the machines on this bus.
- \`gitbus.yaml\` — bus settings. \`schemas/\` — JSON Schema for editors.

Files are written once and never edited; the format is described in gitbus's docs/PROTOCOL.md.
Finished tasks move to the \`archive\` branch.
`;
}
