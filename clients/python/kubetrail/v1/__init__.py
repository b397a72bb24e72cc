"""Generated code for ``proto/kubetrail/v1``: messages (``*_pb2``) and gRPC stubs
(``*_pb2_grpc``) of event.proto, query.proto and admin.proto.

The modules are written here at build time (``setup.py`` runs protoc with Debian's
grpc_python_plugin) and are never committed; a source checkout holds only this file.
"""
