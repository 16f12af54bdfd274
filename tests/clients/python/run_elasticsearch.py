"""Scenario with the official `elasticsearch` client (8.x or 9.x: the same code runs on both).

Usage: run_elasticsearch.py URL
"""

import sys

from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError, helpers

import scenario


class Api:
    NotFound, BadRequest, Conflict = NotFoundError, BadRequestError, ConflictError
    DIALECT = "es"  # dense_vector, top-level knn and the knn query (scenario.vector_search)

    def __init__(self, url):
        self.es = Elasticsearch(url, request_timeout=30)

    def info(self):
        return self.es.info()

    def create_index(self, index, mappings, settings=None):
        return self.es.indices.create(index=index, mappings=mappings, settings=settings)

    def get_mapping(self, index):
        return self.es.indices.get_mapping(index=index)

    def bulk(self, actions):
        return helpers.bulk(self.es, actions)

    def refresh(self, index):
        return self.es.indices.refresh(index=index)

    def search(self, index, body):
        # Idiomatic keyword arguments; `from` is a Python keyword, so the client spells it `from_`.
        kwargs = {("from_" if k == "from" else k): v for k, v in body.items()}
        return self.es.search(index=index, **kwargs)

    def put_ingest_pipeline(self, pipeline_id, processors):
        return self.es.ingest.put_pipeline(id=pipeline_id, processors=processors)

    def count(self, index, query=None):
        return self.es.count(index=index, query=query)

    def get(self, index, doc_id):
        return self.es.get(index=index, id=doc_id)

    def update(self, index, doc_id, doc):
        return self.es.update(index=index, id=doc_id, doc=doc)

    def delete(self, index, doc_id):
        return self.es.delete(index=index, id=doc_id)

    def create_doc(self, index, doc_id, doc):
        return self.es.create(index=index, id=doc_id, document=doc)

    @staticmethod
    def status(e):
        return e.meta.status

    @staticmethod
    def body(e):
        return e.body


if __name__ == "__main__":
    scenario.main(Api(sys.argv[1]))
