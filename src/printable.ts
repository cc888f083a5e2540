/**
 * Text from outside (a file name, a command-line value) as it may be printed: control characters (an escape
 * sequence would recolour or rewrite the terminal; a newline would forge a line of output) shown as \uXXXX.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The longest a value given by the user is echoed in a message: enough to recognise it. */
export const ECHO_MAX = 80;

/** A value given by the user, for a message: printable, and its first ECHO_MAX characters then `…` when longer. */
export function echo(text: string, max = ECHO_MAX): string {
  const chars = [...text];
  const shown = chars.length > max ? `${chars.slice(0, max).join('')}… (${chars.length} characters)` : text;
  return printable(shown);
}
