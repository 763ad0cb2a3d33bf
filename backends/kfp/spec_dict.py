"""A pipeline spec message as the dict protobuf's ``json_format.MessageToDict`` makes of it.

``MessageToDict`` decides how to write each field of each message anew, in several Python calls
per value (at 800 steps, 30,000 fields: a sixth of the compile). The spec's messages are of a
few types, so here what each field of a message type becomes is decided once per type (its JSON
name and how its value is written), and the values are converted in one loop per message.
The rules are ``json_format``'s, with its default options: fields as ``ListFields`` gives them,
under their JSON names; a map as a dict of its keys' text; enums by name; 64-bit integers as
text; ``Struct``, ``Value`` and ``ListValue`` as the JSON they hold. Anything else (another
well-known type, bytes, a 32-bit float, an enum number without a name, an infinite or NaN
number, an extension) has the message it is in converted by ``MessageToDict`` itself.
``tests/test_kfp_yaml.py`` compares the two, types included, on every definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Converter = Callable[[Any], Any]


class _Other(Exception):
    """A value this module leaves to ``MessageToDict`` (with the message that holds it)."""


def message_dict(message: Any) -> dict[str, Any]:
    """``json_format.MessageToDict(message)``, for a pipeline spec's messages."""
    try:
        result: dict[str, Any] = _message(message)
    except _Other:  # a well-known type holding what json_format refuses: its error
        from google.protobuf import json_format

        return json_format.MessageToDict(message)
    return result


def _message(message: Any) -> Any:
    plan = _PLANS.get(type(message))
    if plan is None:
        plan = _PLANS[type(message)] = _plan(message.DESCRIPTOR)
    if callable(plan):  # a well-known type, or one left to json_format
        return plan(message)
    result = {}
    try:
        for field, value in message.ListFields():
            name, convert = plan[field]
            result[name] = value if convert is None else convert(value)
    except (_Other, KeyError):  # KeyError: an extension
        from google.protobuf import json_format

        return json_format.MessageToDict(message)
    return result


# message class -> {field descriptor: (name, converter or None for the value as it is)}
_PLANS: dict[type, Any] = {}


def _plan(descriptor: Any) -> Any:
    """What each field of a message type becomes, or the converter of a well-known type."""
    from google.protobuf import json_format

    full_name = descriptor.full_name
    if full_name == "google.protobuf.Struct":
        return _struct
    if full_name == "google.protobuf.Value":
        return _value
    if full_name == "google.protobuf.ListValue":
        return _list_value
    if full_name.startswith("google.protobuf.") or descriptor.file.name.startswith("google/"):
        return json_format.MessageToDict
    plan = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            key_field = field.message_type.fields_by_name["key"]
            if key_field.cpp_type == key_field.CPPTYPE_BOOL:
                plan[field] = (field.json_name, _other)
                continue
            plan[field] = (field.json_name, _map(_single(value_field)))
        elif field.is_repeated:
            plan[field] = (field.json_name, _repeated(_single(field)))
        else:
            convert = _single(field)
            plan[field] = (field.json_name, None if convert is _same else convert)
    return plan


def _single(field: Any) -> _Converter:
    """The converter of one value of ``field``."""
    kind = field.cpp_type
    if kind == field.CPPTYPE_MESSAGE:
        return _message
    if kind == field.CPPTYPE_ENUM:
        if field.enum_type.full_name == "google.protobuf.NullValue":
            return _null
        names = {number: value.name for number, value in field.enum_type.values_by_number.items()}

        def enum(value: Any) -> Any:
            try:
                return names[value]
            except KeyError:
                raise _Other from None

        return enum
    if kind == field.CPPTYPE_STRING:
        return _other if field.type == field.TYPE_BYTES else _same
    if kind == field.CPPTYPE_BOOL:
        return bool
    if kind in (field.CPPTYPE_INT64, field.CPPTYPE_UINT64):
        return str
    if kind == field.CPPTYPE_DOUBLE:
        return _double
    if kind in (field.CPPTYPE_INT32, field.CPPTYPE_UINT32):
        return _same
    return _other  # a 32-bit float: json_format's shortest text


def _repeated(convert: _Converter) -> _Converter:
    if convert is _same:
        return list
    return lambda values: [convert(value) for value in values]


def _map(convert: _Converter) -> _Converter:
    return lambda entries: {str(key): convert(entries[key]) for key in entries}


def _same(value: Any) -> Any:
    return value


def _null(value: Any) -> None:
    return None


def _other(value: Any) -> Any:
    raise _Other


def _double(value: float) -> float:
    if value - value != 0.0:  # infinite or NaN: json_format writes a name
        raise _Other
    return value


def _struct(message: Any) -> dict[str, Any]:
    fields = message.fields
    return {key: _value(fields[key]) for key in fields}


def _list_value(message: Any) -> list[Any]:
    return [_value(value) for value in message.values]


def _value(message: Any) -> Any:
    which = message.WhichOneof("kind")
    if which == "string_value":
        return message.string_value
    if which is None or which == "null_value":
        return None
    if which == "number_value":
        number = message.number_value
        if number - number != 0.0:  # json_format raises for these: let it
            raise _Other
        return number
    if which == "bool_value":
        return message.bool_value
    if which == "struct_value":
        return _struct(message.struct_value)
    if which == "list_value":
        return _list_value(message.list_value)
    raise _Other
