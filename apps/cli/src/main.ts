import { passVerdict } from '@provwatch/verification';
console.log(passVerdict('placeholder', {}).status);
