/**
 * Why a file named on the command line could not be read, in words (`missing.jsonl does not exist`) rather than
 * Node's errno text (`ENOENT: no such file or directory, stat 'missing.jsonl'`); another error keeps its own
 * message, as reading `reading` (the file by default). Pure.
 */
export function readFailure(file: string, err: unknown, reading?: string): string {
  const e = err as NodeJS.ErrnoException;
  // An empty name (a script's unset variable) is named as such, not as a sentence with a hole in it.
  const what = file === '-' ? 'standard input' : file === '' ? 'the empty file name ""' : file;
  switch (e?.code) {
    case 'ENOENT':
      return `${what} does not exist`;
    case 'EISDIR':
      return `${what} is a folder, not a file`;
    case 'ENOTDIR':
      return `a part of the path ${what} is not a folder`;
    case 'EACCES':
    case 'EPERM':
      return `${what} may not be read by this user (permission denied)`;
    default:
      // A read that failed midway keeps its errno (`read ECONNRESET`): what ended the input is the news there.
      return `cannot read ${reading ?? what}: ${e instanceof Error ? e.message : String(err)}`;
  }
}
