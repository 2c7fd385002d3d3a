import { z } from 'zod';

/** A workflow as JSON (a file for `plan` and `workflow run`, a body for `POST /v1/workflows`). */
export const WorkflowSchema = z
  .object({
    name: z.string().max(256).optional(),
    steps: z.array(
      z
        .object({
          id: z.string().min(1).max(128),
          agent: z.string().min(1),
          task: z.string(),
          dependsOn: z.array(z.string()).optional(),
          weightMs: z.number().positive().optional(),
        })
        .strict(),
    ),
  })
  .strict();
