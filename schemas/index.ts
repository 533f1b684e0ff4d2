// The public API of schemas/: the bus file format, pure (no I/O). Other layers may import the modules directly.
export { GitbusError, InvalidBusFileError, type FileProblem } from './errors.js';
export {
  ATTEMPT_RULE,
  ID_ALPHABET,
  InvalidIdError,
  isAttempt,
  isLabel,
  isNodeName,
  isTaskId,
  LABEL_RE,
  LABEL_RULE,
  MAX_ATTEMPT,
  newTaskId,
  NODE_NAME_RE,
  NODE_NAME_RULE,
  parseAttempt,
  TASK_ID_RE,
  TASK_ID_RULE,
} from './ids.js';
export { DURATION_RE, DURATION_RULE, formatDuration, InvalidDurationError, parseDuration, tryParseDuration } from './duration.js';
export { durationSchema, positiveDurationSchema } from './duration-schema.js';
export { formatTimestamp, isTimestamp, TIMESTAMP_RULE, timestampMs } from './timestamp.js';
export { timestampSchema } from './timestamp-schema.js';
export { CRON_RULE, cronSchema, isCronExpression } from './cron.js';
export { COMMAND_RUNNERS, MAX_COMMAND_BYTES, MAX_FILE_BYTES, MAX_NAME_CHARS, MAX_TITLE_CHARS, PROTOCOL_VERSION, RUNNERS, type RunnerName } from './field-limits.js';
export { ARCHIVE_MONTH_RE, archiveMonthOf, archivePathFor, archiveSignaturePathFor, parseArchivePath, type ArchivedPath } from './archive-layout.js';
export {
  classifyEntry,
  classifyPath,
  FOLDER_KIND,
  isFileProblem,
  isLiveFolder,
  KIND_FOLDER,
  LIVE_FOLDERS,
  pathFor,
  SETTINGS_PATH,
  type ArchivableKind,
  type ArchivablePath,
  type BusKind,
  type BusPath,
  type BusPathOf,
  type LiveFolder,
} from './layout.js';
export { decodeFileText, findConflictMarker } from './file-text.js';
export { parseFrontmatter, parseYamlFile, renderFrontmatter, splitFrontmatter } from './frontmatter.js';
export { MAX_ALIAS_COUNT, parseYaml, renderYaml } from './safe-yaml.js';
export { DEFAULT_SETTINGS, resolveSettings, type BusSettings, type ResolvedSettings } from './settings.js';
export { settingsSchema } from './settings-schema.js';
export { handoffSchema, type ClaudeRequest, type Handoff } from './handoff.js';
export { effectiveRunner } from './field-limits.js';
export { claimSchema, type Claim, type Reclaim } from './claim.js';
export { releaseSchema, type Release } from './release.js';
export { cancelSchema, type Cancel } from './cancel.js';
export { deliverySchema, type Delivery } from './delivery.js';
export { RESPONSE_STATUSES, responseSchema, type ClaudeReport, type ResponseStatus, type TaskResponse } from './response.js';
export { nodeCardSchema, type HostInfo, type NodeCard } from './node-card.js';
export { BUS_KINDS, KINDS, type KindData } from './kinds.js';
export {
  checkBusData,
  isExtraKey,
  parseArchivedFile,
  parseBusFile,
  parseSettingsFile,
  renderBusFile,
  renderSettings,
  schemaRefFor,
  type BusFile,
  type Extras,
  type ParseFailure,
  type ParseResult,
  type ParseSuccess,
  type SettingsParseResult,
} from './bus-file.js';
export { jsonSchemaFileName, jsonSchemaFiles, jsonSchemaFor } from './json-schema.js';
