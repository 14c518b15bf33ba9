// The writer moved to shared/oci (the registry client's download-to-file falls back to it); kept here for importers.
export { BlobFileWriter } from '../oci/blob-file-writer.js';
