/**
 * Small helpers for the shell text providers send through a channel.
 */

/**
 * Fills `{{name}}` placeholders of a submit-script template. A placeholder without a value is a
 * bug in the provider, so it throws rather than leaving the text in the script.
 */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`submit script template: no value for {{${key}}}`);
    return value;
  });
}

/** A job name reduced to characters every scheduler and filesystem accepts. */
export function safeJobName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[^A-Za-z]+/, '');
  return cleaned === '' ? 'parsl' : cleaned;
}

/** `HH:MM:SS` for a duration, rounding up to whole seconds (hours may exceed 24). */
export function formatHms(ms: number): string {
  const total = Math.max(1, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** Whole minutes for a duration, rounding up (at least 1). */
export function toMinutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}

/** Joins a directory and a file name with `/` (the far side of a channel is POSIX whatever runs here). */
export function joinPosix(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}
