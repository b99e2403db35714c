/** Error catalogue of the attributes lib (expressions and the compressed wire form). */
import { defineErrors } from '@tsmesh/core';

export const attributesErrors = defineErrors('attributes', {
  ATTRIBUTES_ERR_SYNTAX: {
    message: 'expression {expression}: column {column}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Fix the expression at the column shown; CEXL is a subset of Go expression syntax.',
  },
  ATTRIBUTES_ERR_TYPE: {
    message: 'expression {expression}: column {column}: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Operands and function arguments must have the types the function expects; use `|` to give a default of the same type.',
  },
  ATTRIBUTES_ERR_UNKNOWN_ATTRIBUTE: {
    message: 'expression {expression}: column {column}: unknown attribute {name}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'Use an attribute from the vocabulary, or declare it in an attributemanifest.',
  },
  ATTRIBUTES_ERR_DECODE: {
    message: 'cannot decode compressed attributes: {why}',
    http: 400,
    grpc: 'INVALID_ARGUMENT',
    hint: 'The client and server global dictionaries differ, or the message is corrupt.',
  },
});
