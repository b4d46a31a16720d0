import { describe, expect, it } from 'vitest';
import { lineOfYamlPath, listedNames, pathSegments } from './yamlPath';

const business = [
  '# comment', // 1
  'id: himalayan_kitchen', // 2
  'hours:', // 3
  '  tuesday: &open_day', // 4
  '    - { name: lunch, open: "12:00" }', // 5
  '  wednesday: *open_day', // 6
  'menu:', // 7
  '  categories:', // 8
  '    - id: momos', // 9
  '      items:', // 10
  '        - id: veg_steamed_momos', // 11
  '          price_inr: 180', // 12
  '        - id: paneer_momos', // 13
  '          name: { en: Paneer momos }', // 14
  '          price_inr: 200', // 15
  'prompts:', // 16
  '  hi:', // 17
  '    a/b: "x"', // 18
  'flows:', // 19
  '  - greeting', // 20
  '  - make_reservation', // 21
  'plugins: [festival_closures, jain_options]', // 22
  '',
].join('\n');

describe('pathSegments', () => {
  it('reads dotted paths and JSON pointers alike', () => {
    expect(pathSegments('menu.categories.0.items')).toEqual(['menu', 'categories', '0', 'items']);
    expect(pathSegments('/menu/categories/0/items')).toEqual(['menu', 'categories', '0', 'items']);
    expect(pathSegments('/prompts/hi/a~1b~0c')).toEqual(['prompts', 'hi', 'a/b~c']);
    expect(pathSegments('')).toEqual([]);
    expect(pathSegments('/')).toEqual([]);
  });
});

describe('lineOfYamlPath', () => {
  it('finds a mapping key at its own line', () => {
    expect(lineOfYamlPath(business, 'menu.categories.0.items.1.price_inr')).toEqual({
      line: 15,
      exact: true,
      found: ['menu', 'categories', '0', 'items', '1', 'price_inr'],
    });
    expect(lineOfYamlPath(business, '/menu/categories/0/items/0/price_inr')?.line).toBe(12);
    expect(lineOfYamlPath(business, 'menu')?.line).toBe(7);
  });

  it('picks list items by their id as well as by index', () => {
    expect(lineOfYamlPath(business, 'menu.categories.momos.items.paneer_momos.price_inr')?.line).toBe(15);
    expect(lineOfYamlPath(business, 'menu.categories.momos.items.paneer_momos')?.line).toBe(13);
  });

  it('reads escaped pointer segments and flow-style lists', () => {
    expect(lineOfYamlPath(business, '/prompts/hi/a~1b')?.line).toBe(18);
    expect(lineOfYamlPath(business, 'plugins.1')?.line).toBe(22);
    expect(lineOfYamlPath(business, 'flows.1')?.line).toBe(21);
  });

  it('follows an alias into what it names', () => {
    expect(lineOfYamlPath(business, 'hours.wednesday.0.open')?.line).toBe(5);
  });

  it('stops at the nearest parent when the rest of the path is gone', () => {
    expect(lineOfYamlPath(business, 'menu.categories.momos.items.no_such_dish.price_inr')).toEqual({
      line: 10,
      exact: false,
      found: ['menu', 'categories', 'momos', 'items'],
    });
    expect(lineOfYamlPath(business, 'no_such_key')).toBeNull();
  });

  it('still finds what it can in text that is broken further down', () => {
    const broken = `${business.split('\n').slice(0, 15).join('\n')}\n  bad: [unclosed\n`;
    expect(lineOfYamlPath(broken, 'menu.categories.0.items.0.price_inr')?.line).toBe(12);
  });
});

describe('listedNames', () => {
  it('lists the flows and plugins a business names', () => {
    expect(listedNames(business, 'flows')).toEqual(['greeting', 'make_reservation']);
    expect(listedNames(business, 'plugins')).toEqual(['festival_closures', 'jain_options']);
    expect(listedNames('just text', 'flows')).toEqual([]);
  });
});
