// Text and attribute values in HTML pages: the five characters that could start markup or end a quoted
// attribute, as entities.

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
