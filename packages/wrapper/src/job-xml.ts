import { CHECKPOINT_FILE } from './boinc-files.js';
import { FRACTION_DONE_FILE } from './fraction-file.js';

export interface JobXmlOptions {
  /** The program the wrapper starts, as a logical name in the app version (e.g. the Node launcher). */
  application: string;
  /** Arguments before `worker --wrapped`, e.g. the bundled worker script. */
  arguments?: string[];
  /** Wall-clock limit in seconds the wrapper enforces, if any. */
  timeLimitSeconds?: number;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The `job.xml` for projects that run the worker under BOINC's C++ wrapper (samples/wrapper): one task
 * whose progress and checkpoints the wrapper reads from the files the worker writes in wrapped mode.
 * The wrapper does not resolve link files for its task; the worker does, so inputs need no <copy_file/>.
 */
export function jobXml(options: JobXmlOptions): string {
  const commandLine = [...(options.arguments ?? []), 'worker', '--wrapped'].join(' ');
  return [
    '<job_desc>',
    '  <task>',
    `    <application>${escapeXml(options.application)}</application>`,
    `    <command_line>${escapeXml(commandLine)}</command_line>`,
    `    <checkpoint_filename>${CHECKPOINT_FILE}</checkpoint_filename>`,
    `    <fraction_done_filename>${FRACTION_DONE_FILE}</fraction_done_filename>`,
    ...(options.timeLimitSeconds ? [`    <time_limit>${options.timeLimitSeconds}</time_limit>`] : []),
    // The worker starts child processes (a fetched script's sandbox, its pool's workers): the wrapper must
    // suspend, resume and kill the whole process group, and count its CPU time (samples/wrapper/wrapper.cpp,
    // multi_process).
    '    <multi_process/>',
    '  </task>',
    '</job_desc>',
    '',
  ].join('\n');
}
