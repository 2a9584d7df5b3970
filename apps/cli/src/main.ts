import { x } from "@provwatch/verification"; console.log(x);
