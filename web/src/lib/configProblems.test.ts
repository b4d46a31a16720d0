import { describe, expect, it } from 'vitest';
import { ApiError } from '../api/fetcher';
import { businessFile, diffRows, filesForBusiness, offsetOf, problemPlace, refusedSaveErrors, sortProblems, splitConfigPath, type Problem } from './configProblems';

const file = 'businesses/himalayan_kitchen.yaml';
const text = 'id: himalayan_kitchen\nmenu:\n  categories:\n    - id: momos\n      price_inr: -5\n';

describe('sortProblems', () => {
  it("keeps the open file's problems by line and the other files' apart", () => {
    const { here, elsewhere } = sortProblems(
      file,
      text,
      [
        { file, line: 5, column: 18, pointer: '/menu/categories/0/price_inr', message: 'must be at least 0' },
        { file, line: 2, column: 1, pointer: '/menu', message: 'first' },
        { file: 'flows/greeting.yaml', line: 3, pointer: '/steps/0', message: 'breaks the greeting' },
      ],
      [{ file, line: 1, pointer: '/id', message: 'a warning' }],
    );
    expect(here.map((p) => [p.line, p.severity, p.message])).toEqual([
      [1, 'warning', 'a warning'],
      [2, 'error', 'first'],
      [5, 'error', 'must be at least 0'],
    ]);
    expect(elsewhere).toHaveLength(1);
    expect(problemPlace(elsewhere[0] as Problem)).toBe('flows/greeting.yaml:3');
    expect(problemPlace(here[2] as Problem)).toBe(`${file}:5:18`);
  });

  it('places a problem without a line by its pointer', () => {
    const { here } = sortProblems(file, text, [{ file, pointer: '/menu/categories/0/price_inr', message: 'bad price' }]);
    expect(here[0]).toMatchObject({ line: 5, column: null, message: 'bad price' });
  });

  it('leaves a problem about the whole file without a line', () => {
    const { here } = sortProblems(file, text, [{ file, pointer: '', message: 'not YAML' }]);
    expect(here[0]?.line).toBeNull();
    expect(problemPlace(here[0] as Problem)).toBe(file);
  });
});

describe('offsetOf', () => {
  it('turns line and column into an offset, clamped to the line and the text', () => {
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 2, 1)).toBe(text.indexOf('menu:'));
    expect(offsetOf(text, 5, 18)).toBe(text.indexOf('-5'));
    expect(offsetOf(text, 2, 99)).toBe(text.indexOf('\n  categories'));
    expect(offsetOf(text, 2, null)).toBe(text.indexOf('menu:'));
    expect(offsetOf(text, 40, 1)).toBe(text.length);
  });
});

describe('diffRows', () => {
  it('classifies each line of a unified diff', () => {
    const diff = '--- a/x.yaml\n+++ b/x.yaml\n@@ -1,2 +1,2 @@\n id: x\n-price_inr: 180\n+price_inr: 195\n';
    expect(diffRows(diff).map((r) => r.kind)).toEqual(['header', 'header', 'hunk', 'context', 'removed', 'added']);
    expect(diffRows(diff)[5]?.text).toBe('+price_inr: 195');
  });
});

describe('file names', () => {
  it('splits only the paths the API accepts', () => {
    expect(splitConfigPath(file)).toEqual({ dir: 'businesses', name: 'himalayan_kitchen.yaml' });
    expect(splitConfigPath('plugins/jain_options.rhai')).toEqual({ dir: 'plugins', name: 'jain_options.rhai' });
    expect(splitConfigPath('../etc/passwd')).toBeNull();
    expect(splitConfigPath('businesses/../x.yaml')).toBeNull();
    expect(splitConfigPath('other/x.yaml')).toBeNull();
  });

  it("orders a business's own files first", () => {
    const paths = [file, 'businesses/muskaan_dental.yaml', 'flows/greeting.yaml', 'flows/book_appointment.yaml', 'plugins/jain_options.rhai', 'plugins/dental_rules.rhai'];
    expect(businessFile('himalayan_kitchen', paths)).toBe(file);
    expect(businessFile('nobody', paths)).toBeNull();
    expect(filesForBusiness(file, ['greeting', 'missing_flow'], ['jain_options'], paths)).toEqual({
      mine: [file, 'flows/greeting.yaml', 'plugins/jain_options.rhai'],
      others: ['businesses/muskaan_dental.yaml', 'flows/book_appointment.yaml', 'plugins/dental_rules.rhai'],
    });
  });
});

describe('refusedSaveErrors', () => {
  it("reads a refused save's located errors and nothing else", () => {
    const errors = [{ file, line: 5, column: 18, pointer: '/menu/categories/0/price_inr', message: 'must be a number' }];
    expect(refusedSaveErrors(new ApiError(409, 'not saved', 'content', { error: 'not saved', field: 'content', errors }))).toEqual(errors);
    expect(refusedSaveErrors(new ApiError(409, 'changed by someone else', 'base_sha256', { error: 'changed' }))).toBeNull();
    expect(refusedSaveErrors(new ApiError(500, 'boom'))).toBeNull();
    expect(refusedSaveErrors(new Error('offline'))).toBeNull();
  });
});
