/**
 * OCM version <-> OCI tag mapping. OCI tags cannot hold `+`, so upstream writes it as `.build-`; the reverse
 * maps the LAST `.build-` back (a version may legitimately contain `.build-` before its build metadata).
 */

export function versionToTag(version: string): string {
  return version.replaceAll('+', '.build-');
}

export function tagToVersion(tag: string): string {
  const i = tag.lastIndexOf('.build-');
  return i < 0 ? tag : `${tag.slice(0, i)}+${tag.slice(i + '.build-'.length)}`;
}
