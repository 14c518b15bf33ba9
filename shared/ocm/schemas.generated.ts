// Generated from the upstream OCM JSON schemas (open-component-model/ocm resources/component-descriptor-v2-schema.yaml and
// resources/component-descriptor-ocm-v3-schema.yaml, commit 0e26b7f, Apache-2.0, (c) SAP SE and OCM contributors).
// Data, not code: regenerate rather than edit by hand.
export const componentDescriptorV2Schema: Record<string, unknown> = {
 "$id": "https://gardener.cloud/schemas/component-descriptor-v2",
 "$schema": "https://json-schema.org/draft/2020-12/schema",
 "description": "Open Component Model v2 schema",
 "$defs": {
  "meta": {
   "type": "object",
   "description": "component descriptor metadata",
   "required": [
    "schemaVersion"
   ],
   "properties": {
    "schemaVersion": {
     "type": "string"
    }
   }
  },
  "merge": {
   "type": "object",
   "properties": {
    "algorithm": {
     "pattern": "^[a-z][a-z0-9/_-]+$"
    },
    "config": {}
   },
   "additionalProperties": false
  },
  "label": {
   "type": "object",
   "required": [
    "name",
    "value"
   ],
   "properties": {
    "name": {
     "type": "string"
    },
    "value": {},
    "version": {
     "pattern": "^v[0-9]+$"
    },
    "signing": {
     "type": "boolean"
    },
    "merge": {
     "$ref": "#/$defs/merge"
    }
   }
  },
  "componentName": {
   "type": "string",
   "maxLength": 255,
   "pattern": "^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$"
  },
  "identityAttributeKey": {
   "minLength": 2,
   "pattern": "^[a-z0-9]([-_+a-z0-9]*[a-z0-9])?$"
  },
  "relaxedSemver": {
   "pattern": "^[v]?(0|[1-9]\\d*)(?:\\.(0|[1-9]\\d*))?(?:\\.(0|[1-9]\\d*))?(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$",
   "type": "string"
  },
  "identityAttribute": {
   "type": "object",
   "propertyNames": {
    "$ref": "#/$defs/identityAttributeKey"
   }
  },
  "repositoryContext": {
   "type": "object",
   "required": [
    "type"
   ],
   "properties": {
    "type": {
     "type": "string"
    }
   }
  },
  "access": {
   "type": "object",
   "description": "base type for accesses (for extensions)",
   "required": [
    "type"
   ]
  },
  "sourceDefinition": {
   "type": "object",
   "required": [
    "name",
    "version",
    "type",
    "access"
   ],
   "properties": {
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "type": {
     "type": "string"
    },
    "labels": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/label"
     }
    },
    "access": {
     "$ref": "#/$defs/access"
    }
   }
  },
  "digestSpec": {
   "type": "object",
   "required": [
    "hashAlgorithm",
    "normalisationAlgorithm",
    "value"
   ],
   "properties": {
    "hashAlgorithm": {
     "type": "string"
    },
    "normalisationAlgorithm": {
     "type": "string"
    },
    "value": {
     "type": "string"
    }
   }
  },
  "timestampSpec": {
   "type": "object",
   "properties": {
    "value": {
     "type": "string"
    },
    "time": {
     "type": "string",
     "format": "date-time"
    }
   }
  },
  "signatureSpec": {
   "type": "object",
   "required": [
    "algorithm",
    "value",
    "mediaType"
   ],
   "properties": {
    "algorithm": {
     "type": "string"
    },
    "value": {
     "type": "string"
    },
    "mediaType": {
     "description": "The media type of the signature value",
     "type": "string"
    }
   }
  },
  "signature": {
   "type": "object",
   "required": [
    "name",
    "digest",
    "signature"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "type": "string"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    },
    "signature": {
     "$ref": "#/$defs/signatureSpec"
    },
    "timestamp": {
     "$ref": "#/$defs/timestampSpec"
    }
   }
  },
  "nestedDigestSpec": {
   "type": "object",
   "required": [
    "name"
   ],
   "properties": {
    "name": {
     "type": "string"
    },
    "version": {
     "type": "string"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    }
   }
  },
  "nestedComponentDigests": {
   "type": "object",
   "required": [
    "name",
    "version"
   ],
   "properties": {
    "name": {
     "$ref": "#/$defs/componentName"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    },
    "resourceDigests": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/nestedDigestSpec"
       }
      },
      {
       "type": "null"
      }
     ]
    }
   }
  },
  "srcRef": {
   "type": "object",
   "description": "a reference to a (component-local) source",
   "additionalProperties": false,
   "properties": {
    "identitySelector": {
     "$ref": "#/$defs/identityAttribute"
    },
    "labels": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/label"
       }
      },
      {
       "type": "null"
      }
     ]
    }
   }
  },
  "componentReference": {
   "type": "object",
   "description": "a reference to a component",
   "required": [
    "name",
    "componentName",
    "version"
   ],
   "additionalProperties": false,
   "properties": {
    "componentName": {
     "$ref": "#/$defs/componentName"
    },
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "labels": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/label"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "digest": {
     "oneOf": [
      {
       "type": "null"
      },
      {
       "$ref": "#/$defs/digestSpec"
      }
     ]
    }
   }
  },
  "resourceDefinition": {
   "type": "object",
   "description": "base type for resources",
   "required": [
    "name",
    "version",
    "type",
    "relation",
    "access"
   ],
   "properties": {
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "type": {
     "type": "string"
    },
    "srcRefs": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/srcRef"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "relation": {
     "type": "string",
     "enum": [
      "local",
      "external"
     ]
    },
    "labels": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/label"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "access": {
     "$ref": "#/$defs/access"
    },
    "digest": {
     "oneOf": [
      {
       "type": "null"
      },
      {
       "$ref": "#/$defs/digestSpec"
      }
     ]
    }
   }
  },
  "component": {
   "type": "object",
   "description": "a component",
   "required": [
    "name",
    "version",
    "repositoryContexts",
    "provider",
    "sources",
    "componentReferences",
    "resources"
   ],
   "properties": {
    "name": {
     "$ref": "#/$defs/componentName"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "creationTime": {
     "type": [
      "string",
      "null"
     ],
     "format": "date-time"
    },
    "repositoryContexts": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/repositoryContext"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "provider": {
     "type": "string"
    },
    "labels": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/label"
     }
    },
    "sources": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/sourceDefinition"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "componentReferences": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/componentReference"
       }
      },
      {
       "type": "null"
      }
     ]
    },
    "resources": {
     "oneOf": [
      {
       "type": "array",
       "items": {
        "$ref": "#/$defs/resourceDefinition"
       }
      },
      {
       "type": "null"
      }
     ]
    }
   }
  }
 },
 "type": "object",
 "required": [
  "meta",
  "component"
 ],
 "properties": {
  "meta": {
   "$ref": "#/$defs/meta"
  },
  "component": {
   "$ref": "#/$defs/component"
  },
  "signatures": {
   "oneOf": [
    {
     "type": "array",
     "items": {
      "$ref": "#/$defs/signature"
     }
    },
    {
     "type": "null"
    }
   ]
  },
  "nestedDigests": {
   "oneOf": [
    {
     "type": "array",
     "items": {
      "$ref": "#/$defs/nestedComponentDigests"
     }
    },
    {
     "type": "null"
    }
   ]
  }
 }
};

export const componentDescriptorV3alpha1Schema: Record<string, unknown> = {
 "$id": "https://gardener.cloud/schemas/component-descriptor-ocm-v3alpha1",
 "$schema": "https://json-schema.org/draft/2020-12/schema",
 "description": "OCM Component Descriptor v3 schema",
 "$defs": {
  "meta": {
   "type": "object",
   "description": "component version metadata",
   "required": [
    "name",
    "version"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "$ref": "#/$defs/componentName"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "labels": {
     "$ref": "#/$defs/labels"
    },
    "provider": {
     "$ref": "#/$defs/provider"
    },
    "creationTime": {
     "type": "string",
     "format": "date-time"
    }
   }
  },
  "merge": {
   "type": "object",
   "properties": {
    "algorithm": {
     "pattern": "^[a-z][a-z0-9/_-]+$"
    },
    "config": {}
   },
   "additionalProperties": false
  },
  "labels": {
   "type": "array",
   "items": {
    "$ref": "#/$defs/label"
   }
  },
  "label": {
   "type": "object",
   "required": [
    "name",
    "value"
   ],
   "properties": {
    "name": {
     "type": "string"
    },
    "value": {},
    "version": {
     "pattern": "^v[0-9]+$"
    },
    "signing": {
     "type": "boolean"
    },
    "merge": {
     "$ref": "#/$defs/merge"
    }
   },
   "additionalProperties": false
  },
  "componentName": {
   "type": "string",
   "maxLength": 255,
   "pattern": "^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$"
  },
  "identityAttributeKey": {
   "minLength": 2,
   "pattern": "^[a-z0-9]([-_+a-z0-9]*[a-z0-9])?$"
  },
  "relaxedSemver": {
   "pattern": "^[v]?(0|[1-9]\\d*)(?:\\.(0|[1-9]\\d*))?(?:\\.(0|[1-9]\\d*))?(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$",
   "type": "string"
  },
  "identityAttribute": {
   "type": "object",
   "propertyNames": {
    "$ref": "#/$defs/identityAttributeKey"
   }
  },
  "repositoryContext": {
   "type": "object",
   "required": [
    "type"
   ],
   "properties": {
    "type": {
     "type": "string"
    }
   }
  },
  "access": {
   "type": "object",
   "description": "base type for accesses (for extensions)",
   "required": [
    "type"
   ]
  },
  "sourceDefinition": {
   "type": "object",
   "required": [
    "name",
    "version",
    "type",
    "access"
   ],
   "properties": {
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "type": {
     "type": "string"
    },
    "labels": {
     "$ref": "#/$defs/labels"
    },
    "access": {
     "$ref": "#/$defs/access"
    }
   }
  },
  "digestSpec": {
   "type": "object",
   "required": [
    "hashAlgorithm",
    "normalisationAlgorithm",
    "value"
   ],
   "additionalProperties": false,
   "properties": {
    "hashAlgorithm": {
     "type": "string"
    },
    "normalisationAlgorithm": {
     "type": "string"
    },
    "value": {
     "type": "string"
    }
   }
  },
  "timestampSpec": {
   "type": "object",
   "properties": {
    "value": {
     "type": "string"
    },
    "time": {
     "type": "string",
     "format": "date-time"
    }
   }
  },
  "signatureSpec": {
   "type": "object",
   "required": [
    "algorithm",
    "value",
    "mediaType"
   ],
   "additionalProperties": false,
   "properties": {
    "algorithm": {
     "type": "string"
    },
    "value": {
     "type": "string"
    },
    "mediaType": {
     "description": "The media type of the signature value",
     "type": "string"
    }
   }
  },
  "signature": {
   "type": "object",
   "required": [
    "name",
    "digest",
    "signature"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "type": "string"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    },
    "signature": {
     "$ref": "#/$defs/signatureSpec"
    },
    "timestamp": {
     "$ref": "#/$defs/timestampSpec"
    }
   }
  },
  "nestedDigestSpec": {
   "type": "object",
   "required": [
    "name",
    "digest"
   ],
   "properties": {
    "name": {
     "type": "string"
    },
    "version": {
     "type": "string"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    }
   }
  },
  "nestedComponentDigests": {
   "type": "object",
   "required": [
    "name",
    "version",
    "digest",
    "resourceDigests"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "$ref": "#/$defs/componentName"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "digest": {
     "$ref": "#/$defs/digestSpec"
    },
    "resourceDigests": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/nestedDigestSpec"
     }
    }
   }
  },
  "srcRef": {
   "type": "object",
   "description": "a reference to a (component-local) source",
   "additionalProperties": false,
   "properties": {
    "identitySelector": {
     "$ref": "#/$defs/identityAttribute"
    },
    "labels": {
     "$ref": "#/$defs/labels"
    }
   }
  },
  "reference": {
   "type": "object",
   "description": "a reference to a component",
   "required": [
    "name",
    "componentName",
    "version"
   ],
   "additionalProperties": false,
   "properties": {
    "componentName": {
     "$ref": "#/$defs/componentName"
    },
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "labels": {
     "$ref": "#/$defs/labels"
    },
    "digest": {
     "oneOf": [
      {
       "type": "null"
      },
      {
       "$ref": "#/$defs/digestSpec"
      }
     ]
    }
   }
  },
  "resourceDefinition": {
   "type": "object",
   "description": "base type for resources",
   "required": [
    "name",
    "version",
    "type",
    "relation",
    "access"
   ],
   "properties": {
    "name": {
     "type": "string",
     "$ref": "#/$defs/identityAttributeKey"
    },
    "extraIdentity": {
     "$ref": "#/$defs/identityAttribute"
    },
    "version": {
     "$ref": "#/$defs/relaxedSemver"
    },
    "type": {
     "type": "string"
    },
    "srcRefs": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/srcRef"
     }
    },
    "relation": {
     "type": "string",
     "enum": [
      "local",
      "external"
     ]
    },
    "labels": {
     "$ref": "#/$defs/labels"
    },
    "access": {
     "$ref": "#/$defs/access"
    },
    "digest": {
     "oneOf": [
      {
       "type": "null"
      },
      {
       "$ref": "#/$defs/digestSpec"
      }
     ]
    }
   }
  },
  "provider": {
   "type": "object",
   "required": [
    "name"
   ],
   "additionalProperties": false,
   "properties": {
    "name": {
     "type": "string"
    },
    "labels": {
     "$ref": "#/$defs/labels"
    }
   }
  },
  "spec": {
   "type": "object",
   "description": "specification of the content of a component versiont",
   "additionalProperties": false,
   "properties": {
    "sources": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/sourceDefinition"
     }
    },
    "references": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/reference"
     }
    },
    "resources": {
     "type": "array",
     "items": {
      "$ref": "#/$defs/resourceDefinition"
     }
    }
   }
  }
 },
 "type": "object",
 "required": [
  "apiVersion",
  "kind",
  "metadata",
  "spec"
 ],
 "properties": {
  "apiVersion": {
   "type": "string",
   "enum": [
    "ocm.gardener.cloud/v3alpha1",
    "ocm.software/v3alpha1"
   ]
  },
  "kind": {
   "type": "string",
   "const": "ComponentVersion"
  },
  "metadata": {
   "$ref": "#/$defs/meta"
  },
  "repositoryContexts": {
   "type": "array",
   "items": {
    "$ref": "#/$defs/repositoryContext"
   }
  },
  "spec": {
   "$ref": "#/$defs/spec"
  },
  "signatures": {
   "type": "array",
   "items": {
    "$ref": "#/$defs/signature"
   }
  },
  "nestedDigests": {
   "type": "array",
   "items": {
    "$ref": "#/$defs/nestedComponentDigests"
   }
  }
 }
};
