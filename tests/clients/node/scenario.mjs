// Client scenario with the official Node client (@elastic/elasticsearch), the same steps as
// ../python/scenario.py. Every expected value is computed here from the generated documents.
//
// Usage: node scenario.mjs URL
import assert from 'node:assert/strict'
import { Client, errors } from '@elastic/elasticsearch'

const INDEX = 'photos'
const N_DOCS = 5000
const MAPPINGS = {
  properties: {
    caption: { type: 'text' },
    tags: { type: 'keyword' },
    price: { type: 'double' },
    taken: { type: 'date' }
  }
}
const COLORS = ['red', 'green', 'blue', 'yellow', 'black', 'white']
const ANIMALS = ['cat', 'dog', 'horse', 'bird', 'fox', 'owl', 'bear']
const PLACES = ['sofa', 'beach', 'forest', 'street', 'garden', 'roof']
const TAGS = ['outdoor', 'indoor', 'animal', 'night', 'portrait', 'landscape', 'bw']

// The filtered search of searchBoolSortedPaged().
const WORD = 'cat'
const TAG = 'outdoor'
const [PRICE_GTE, PRICE_LT] = [20, 900]
const [TAKEN_GTE, TAKEN_LT] = ['2020-07-01', '2023-01-01'] // a bare ISO date is UTC midnight, as in ES

// The kNN step, vectorSearch(): a separate index of seeded random vectors and a keyword `color`.
const VECTOR_INDEX = 'vectors'
const [N_VECTORS, DIMS, KNN_K, NUM_CANDIDATES] = [500, 16, 10, 100]

// mulberry32: a small seeded PRNG so the data (and so the expectations) are the same every run.
function rng (seed) {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// Fisher-Yates on a copy, first k items: k distinct picks.
function sample (rand, items, k) {
  const a = [...items]
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (a.length - i))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a.slice(0, k)
}

function generateDocs (n = N_DOCS) {
  const rand = rng(42)
  const pick = (items) => items[Math.floor(rand() * items.length)]
  // Distinct prices so that a price sort has no ties.
  const cents = sample(rand, Array.from({ length: 99_900 }, (_, i) => i + 100), n)
  const start = Date.UTC(2020, 0, 1)
  const docs = new Map()
  for (let i = 0; i < n; i++) {
    const taken = new Date(start + Math.floor(rand() * 4 * 365 * 86400) * 1000)
    docs.set(`img-${i}`, {
      // Plain lowercase words: the standard analyzer's tokens are caption.split(' ').
      caption: `a ${pick(COLORS)} ${pick(ANIMALS)} on the ${pick(PLACES)}`,
      tags: sample(rand, TAGS, 1 + Math.floor(rand() * 3)),
      price: cents[i] / 100,
      taken: taken.toISOString().replace('.000Z', 'Z')
    })
  }
  return docs
}

// Vectors with float32 components (Math.fround), so the server stores exactly what is sent.
function generateVectors () {
  const rand = rng(7)
  const vector = () => Array.from({ length: DIMS }, () => Math.fround(rand() * 2 - 1))
  const docs = new Map()
  for (let i = 0; i < N_VECTORS; i++) {
    docs.set(`vec-${i}`, { vec: vector(), color: COLORS[Math.floor(rand() * COLORS.length)] })
  }
  return { docs, queries: [vector(), vector()] }
}

// ES cosine `_score`: (1 + cos) / 2.
function cosineScore (a, b) {
  let [dot, na, nb] = [0, 0, 0]
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
  return (1 + dot / Math.sqrt(na * nb)) / 2
}

const hasWord = (doc, word) => doc.caption.split(' ').includes(word)
const ids = (resp) => resp.hits.hits.map((h) => h._id)

class Scenario {
  constructor (url) {
    this.client = new Client({ node: url, requestTimeout: 30_000 })
    this.docs = generateDocs()
    this.vectors = generateVectors()
  }

  async connect () {
    const info = await this.client.info()
    assert.ok(info.version.number, 'GET / has version.number')
  }

  async createIndex () {
    const resp = await this.client.indices.create({ index: INDEX, mappings: MAPPINGS })
    assert.equal(resp.acknowledged, true)
    const got = (await this.client.indices.getMapping({ index: INDEX }))[INDEX].mappings.properties
    for (const [field, spec] of Object.entries(MAPPINGS.properties)) {
      assert.equal(got[field].type, spec.type, `mapping type of ${field}`)
    }
  }

  async bulkLoad () {
    let dropped = 0
    const result = await this.client.helpers.bulk({
      datasource: [...this.docs.entries()],
      onDocument: ([id, doc]) => [{ index: { _index: INDEX, _id: id } }, doc],
      onDrop: () => { dropped++ },
      flushBytes: 100_000 // several bulk requests rather than one
    })
    assert.deepEqual([result.total, result.successful, result.failed, dropped], [this.docs.size, this.docs.size, 0, 0])
    await this.client.indices.refresh({ index: INDEX })
    assert.equal((await this.client.count({ index: INDEX })).count, this.docs.size, 'count after bulk')
  }

  async searchMatch () {
    const expected = [...this.docs].filter(([, d]) => hasWord(d, WORD)).map(([id]) => id)
    const resp = await this.client.search({ index: INDEX, query: { match: { caption: WORD } }, size: expected.length + 10 })
    assert.equal(resp.hits.total.value, expected.length, 'match total')
    assert.deepEqual(new Set(ids(resp)), new Set(expected), 'match ids')
  }

  expectedFiltered () {
    const [lo, hi] = [Date.parse(TAKEN_GTE), Date.parse(TAKEN_LT)]
    return [...this.docs]
      .filter(([, d]) => hasWord(d, WORD) && d.tags.includes(TAG) && d.price >= PRICE_GTE && d.price < PRICE_LT &&
        Date.parse(d.taken) >= lo && Date.parse(d.taken) < hi)
      .sort(([, a], [, b]) => a.price - b.price)
      .map(([id]) => id)
  }

  async searchBoolSortedPaged () {
    const expected = this.expectedFiltered()
    assert.ok(expected.length > 40, `generated data gives enough filtered hits (${expected.length})`)
    const query = {
      bool: {
        must: [{ match: { caption: WORD } }],
        filter: [
          { term: { tags: TAG } },
          { range: { price: { gte: PRICE_GTE, lt: PRICE_LT } } },
          { range: { taken: { gte: TAKEN_GTE, lt: TAKEN_LT } } }
        ]
      }
    }
    const pageSize = 17 // odd size so the last page is partial
    const seen = []
    for (let from = 0; from < expected.length + pageSize; from += pageSize) {
      const resp = await this.client.search({ index: INDEX, query, sort: [{ price: 'asc' }], from, size: pageSize })
      assert.equal(resp.hits.total.value, expected.length, `bool total (from=${from})`)
      assert.deepEqual(resp.hits.hits.map((h) => h.sort[0]), ids(resp).map((id) => this.docs.get(id).price),
        `sort values are the prices (from=${from})`)
      seen.push(...ids(resp))
    }
    assert.deepEqual(seen, expected, 'bool hits sorted by price, paged')
  }

  async documentCrud () {
    const c = this.client
    const id = 'img-7'
    const got = await c.get({ index: INDEX, id })
    assert.deepEqual([got.found, got._source], [true, this.docs.get(id)], 'get')

    const newPrice = this.docs.get(id).price + 1000
    assert.equal((await c.update({ index: INDEX, id, doc: { price: newPrice } })).result, 'updated')
    assert.deepEqual((await c.get({ index: INDEX, id }))._source, { ...this.docs.get(id), price: newPrice }, 'source after update')

    assert.equal((await c.delete({ index: INDEX, id: 'img-8' })).result, 'deleted')
    await this.expectError(404, null, () => c.get({ index: INDEX, id: 'img-8' }), 'get of a deleted doc')

    await c.indices.refresh({ index: INDEX })
    assert.equal((await c.count({ index: INDEX })).count, this.docs.size - 1, 'count after delete')
    // Both changes are visible to a filtered count too.
    const alive = this.aliveDocs()
    const expected = [...alive.values()].filter((d) => d.tags.includes(TAG) && d.price >= 900).length
    const resp = await c.count({ index: INDEX, query: { bool: { filter: [{ term: { tags: TAG } }, { range: { price: { gte: 900 } } }] } } })
    assert.equal(resp.count, expected, 'filtered count')
  }

  // The documents as documentCrud() leaves them.
  aliveDocs () {
    const alive = new Map(this.docs)
    alive.delete('img-8')
    alive.set('img-7', { ...alive.get('img-7'), price: this.docs.get('img-7').price + 1000 })
    return alive
  }

  async errors () {
    const c = this.client
    await this.expectError(404, 'index_not_found_exception', () => c.get({ index: 'no-such-index', id: '1' }), 'get on a missing index')
    await this.expectError(404, null, () => c.get({ index: INDEX, id: 'no-such-id' }), 'get of a missing doc')
    await this.expectError(400, 'parsing_exception', () => c.search({ index: INDEX, query: { no_such_query: {} } }), 'unknown query')
    await this.expectError(400, 'mapper_parsing_exception',
      () => c.indices.create({ index: 'bad-mapping', mappings: { properties: { x: { type: 'no_such_type' } } } }), 'unknown field type')
    await this.expectError(409, 'version_conflict_engine_exception',
      () => c.create({ index: INDEX, id: 'img-1', document: { caption: 'dup' } }), 'create an existing id')
  }

  // The Node client raises one class, ResponseError, for every HTTP error; the status tells them apart.
  async expectError (status, type, call, what) {
    try {
      await call()
    } catch (e) {
      assert.ok(e instanceof errors.ResponseError, `${what}: ResponseError, got ${e}`)
      assert.equal(e.meta.statusCode, status, `${what}: status`)
      if (type === null) {
        assert.equal(e.meta.body.found, false, `${what}: body`) // a missing doc is {"found": false}
      } else {
        assert.equal(e.meta.body.error.type, type, `${what}: error type`)
      }
      return
    }
    assert.fail(`${what}: no error raised`)
  }

  // terms on tags + avg on price.
  async aggregations () {
    const body = {
      index: INDEX,
      size: 0,
      aggs: { by_tag: { terms: { field: 'tags', size: TAGS.length } }, avg_price: { avg: { field: 'price' } } }
    }
    this.checkAggregationValues(await this.client.search(body))
  }

  checkAggregationValues (resp) {
    const alive = this.aliveDocs()
    const counts = {}
    for (const d of alive.values()) for (const t of d.tags) counts[t] = (counts[t] ?? 0) + 1
    const buckets = resp.aggregations.by_tag.buckets
    assert.deepEqual(Object.fromEntries(buckets.map((b) => [b.key, b.doc_count])), counts, 'terms buckets')
    const got = buckets.map((b) => b.doc_count)
    assert.deepEqual(got, [...got].sort((a, b) => b - a), 'terms buckets ordered by doc_count')
    const avg = [...alive.values()].reduce((s, d) => s + d.price, 0) / alive.size
    assert.ok(Math.abs(resp.aggregations.avg_price.value - avg) < 1e-6, `avg price: got ${resp.aggregations.avg_price.value}, expected ${avg}`)
  }

  // Top-level knn on a cosine dense_vector, with and without a filter, against the exact answer.
  async vectorSearch () {
    const c = this.client
    const { docs, queries } = this.vectors
    await c.indices.create({
      index: VECTOR_INDEX,
      mappings: {
        properties: {
          vec: { type: 'dense_vector', dims: DIMS, similarity: 'cosine', index_options: { type: 'hnsw' } },
          color: { type: 'keyword' }
        }
      }
    })
    const result = await c.helpers.bulk({
      datasource: [...docs.entries()],
      onDocument: ([id, doc]) => [{ index: { _index: VECTOR_INDEX, _id: id } }, doc]
    })
    assert.deepEqual([result.successful, result.failed], [N_VECTORS, 0], 'vector bulk helper result')
    await c.indices.refresh({ index: VECTOR_INDEX })

    for (const [qi, query] of queries.entries()) {
      for (const color of [null, COLORS[qi]]) {
        const what = `top-level knn${color ? ` with filter ${color}` : ''} (query ${qi})`
        const scored = [...docs]
          .filter(([, d]) => color === null || d.color === color)
          .map(([id, d]) => [id, cosineScore(query, d.vec)])
          .sort((a, b) => b[1] - a[1])
        const expected = scored.slice(0, KNN_K).map(([id]) => id)
        const knn = { field: 'vec', query_vector: query, k: KNN_K, num_candidates: NUM_CANDIDATES }
        if (color) knn.filter = { term: { color } }
        const resp = await c.search({ index: VECTOR_INDEX, knn })
        assert.equal(resp.hits.total.value, KNN_K, `${what}: total`)
        assert.deepEqual(ids(resp), expected, `${what}: ids`)
        const exact = new Map(scored)
        for (const hit of resp.hits.hits) {
          assert.ok(Math.abs(hit._score - exact.get(hit._id)) <= 1e-4,
            `${what}: _score of ${hit._id}: got ${hit._score}, expected ${exact.get(hit._id)}`)
        }
      }
    }
  }

  async run () {
    const steps = ['connect', 'createIndex', 'bulkLoad', 'searchMatch', 'searchBoolSortedPaged', 'documentCrud', 'errors', 'aggregations', 'vectorSearch']
    let failed = 0
    for (const step of steps) {
      try {
        await this[step]()
        console.log(`  ok   ${step}`)
      } catch (e) { // report every step, not just the first failure
        failed++
        console.log(`  FAIL ${step}: ${e.name}: ${e.message}`)
      }
    }
    return failed
  }
}

const failed = await new Scenario(process.argv[2]).run()
process.exit(failed ? 1 : 0)
