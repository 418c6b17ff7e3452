import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonTexts } from '../../src/api/json-text.js';

describe('JSON answers kept as text by record (decision 0087)', () => {
  it('a frozen record gets its body as JSON text, built once', () => {
    let built = 0;
    const texts = new JsonTexts<{ id: number; name: string }>((r) => {
      built += 1;
      return { account: { id: r.id }, user: { name: r.name } };
    });
    const record = Object.freeze({ id: 7, name: 'Ana "A" \u2028' });
    const text = texts.of(record);
    assert.equal(text, JSON.stringify({ account: { id: 7 }, user: { name: 'Ana "A" \u2028' } }));
    assert.equal(texts.of(record), text);
    assert.equal(built, 1);
  });

  it('a record that is replaced gets the text of its replacement; a record that is not frozen is left to the caller', () => {
    const texts = new JsonTexts<{ n: number }>((r) => ({ n: r.n }));
    assert.equal(texts.of(Object.freeze({ n: 1 })), '{"n":1}');
    assert.equal(texts.of(Object.freeze({ n: 2 })), '{"n":2}');
    const open = { n: 3 };
    assert.equal(texts.of(open), undefined);
    open.n = 4;
    assert.equal(texts.of(open), undefined);
  });

  it('a record left to the caller gets its text once it is frozen', () => {
    const texts = new JsonTexts<{ n: number }>((r) => ({ n: r.n }));
    const record = { n: 5 };
    assert.equal(texts.of(record), undefined);
    record.n = 6;
    Object.freeze(record);
    assert.equal(texts.of(record), '{"n":6}');
    assert.equal(texts.of(record), '{"n":6}');
  });
});
