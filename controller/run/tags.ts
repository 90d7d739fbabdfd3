// --tags / --skip-tags, with Ansible's meaning: a task runs when one of its tags (or its play's)
// is selected; `always` runs unless skipped by name; `never` runs only when selected by name.
export interface TagFilter {
  only: string[];
  skip: string[];
}

export function selectedByTags(tags: string[], f: TagFilter): boolean {
  if (f.skip.some((t) => tags.includes(t))) return false;
  if (tags.includes('always')) return true;
  if (f.only.length === 0) return !tags.includes('never');
  if (f.only.includes('all')) return !tags.includes('never');
  if (f.only.includes('untagged') && tags.length === 0) return true;
  if (f.only.includes('tagged') && tags.length > 0) return !tags.includes('never');
  return tags.some((t) => f.only.includes(t));
}
