import { Type } from 'typebox';
import { Id } from '../shapes/common.js';

export const BookBody = Type.Object({ event_id: Id });

