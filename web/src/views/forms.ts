import { announce, h } from '../dom';

// Form plumbing shared by the views: labelled fields, the browser's own checks, values read before the
// form is disabled (disabled controls are left out of FormData).

let fieldCount = 0;

/** A label and its control, tied by id; `hint` is tied by aria-describedby. */
export function labelled(label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= `field-${++fieldCount}`;
  const parts: HTMLElement[] = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('p', { id: hintId, className: 'hint' }, hint));
  }
  return h('div', { className: 'field' }, ...parts);
}

export function field(form: HTMLFormElement, name: string, trim = true): string {
  const value = String(new FormData(form).get(name) ?? '');
  // A password is used exactly as typed.
  return trim ? value.trim() : value;
}

/** The browser's own checks (required, min, max...) first; the first problem is announced and focused. */
export function formIsValid(form: HTMLFormElement): boolean {
  const invalid = [...form.elements].find(
    (el): el is HTMLInputElement | HTMLSelectElement => (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) && !el.checkValidity(),
  );
  if (!invalid) return true;
  const label = form.querySelector(`label[for="${invalid.id}"]`)?.textContent ?? invalid.name;
  announce(`${label}: ${invalid.validationMessage}`, 'error');
  invalid.focus();
  return false;
}
