"""Scenario with `opensearch-py`, which takes request bodies as `body=`.

Usage: run_opensearch.py URL
"""

import sys

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError

import scenario


class Api:
    NotFound, BadRequest, Conflict = NotFoundError, RequestError, ConflictError
    DIALECT = "opensearch"  # knn_vector and the OpenSearch knn query (scenario.vector_search)

    def __init__(self, url):
        self.os = OpenSearch([url], timeout=30)

    def info(self):
        return self.os.info()

    def create_index(self, index, mappings, settings=None):
        body = {"mappings": mappings}
        if settings:
            body["settings"] = settings
        return self.os.indices.create(index=index, body=body)

    def get_mapping(self, index):
        return self.os.indices.get_mapping(index=index)

    def bulk(self, actions):
        return helpers.bulk(self.os, actions)

    def refresh(self, index):
        return self.os.indices.refresh(index=index)

    def search(self, index, body, **params):
        # Query parameters such as `search_pipeline` go as keyword arguments, as users write them.
        return self.os.search(index=index, body=body, **params)

    def put_ingest_pipeline(self, pipeline_id, processors):
        return self.os.ingest.put_pipeline(id=pipeline_id, body={"processors": processors})

    def put_search_pipeline(self, pipeline_id, body):
        return self.os.search_pipeline.put(id=pipeline_id, body=body)

    def count(self, index, query=None):
        return self.os.count(index=index, body={"query": query} if query else None)

    def get(self, index, doc_id):
        return self.os.get(index=index, id=doc_id)

    def update(self, index, doc_id, doc):
        return self.os.update(index=index, id=doc_id, body={"doc": doc})

    def delete(self, index, doc_id):
        return self.os.delete(index=index, id=doc_id)

    def create_doc(self, index, doc_id, doc):
        return self.os.create(index=index, id=doc_id, body=doc)

    @staticmethod
    def status(e):
        return e.status_code

    @staticmethod
    def body(e):
        return e.info


if __name__ == "__main__":
    scenario.main(Api(sys.argv[1]))
